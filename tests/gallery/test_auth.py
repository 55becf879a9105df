"""Every write endpoint: 401 without credentials, 403 for a reader, success for a contributor."""
from datetime import timedelta

import pytest
from django.utils import timezone

from skygallery.gallery.models import ApiToken
from skygallery.gallery.services.accounts import create_token, revoke_token
from tests.conftest import image_metadata
from tests.gallery.helpers import auth, json_call, post_product

pytestmark = pytest.mark.django_db


def _setup(client, token):
    """Objects the write endpoints act on, created by a contributor."""
    post_product(client, token, image_metadata())
    json_call(client, "post", "/api/v1/sources", token, {"name": "Other Source", "ra": 10.0, "dec": 20.0})


WRITES = [
    ("post_product", lambda c, t: post_product(c, t, image_metadata(product_id="new-one"))),
    ("delete_product", lambda c, t: c.delete("/api/v1/products/isgri-crab-2565", **auth(t))),
    ("create_source", lambda c, t: json_call(c, "post", "/api/v1/sources", t, {"name": "S1", "ra": 1, "dec": 2})),
    ("update_source", lambda c, t: json_call(c, "patch", "/api/v1/sources/Crab", t, {"object_type": "Pulsar"})),
    ("merge_sources", lambda c, t: json_call(c, "post", "/api/v1/sources/Crab/merge", t, {"source": "Other Source"})),
    ("post_observation", lambda c, t: json_call(c, "post", "/api/v1/observations", t,
                                                {"title": "Crab", "t1": "2022-10-28T05:52:20",
                                                 "t2": "2022-10-28T13:07:26"})),
    ("set_revolution", lambda c, t: json_call(c, "put", "/api/v1/revolutions/2565", t, {"data_status": "CONS"})),
    ("post_log", lambda c, t: json_call(c, "post", "/api/v1/processing-logs", t,
                                        {"revolution": 2565, "status": "success", "job_id": "j1"})),
]


@pytest.mark.parametrize("name, call", WRITES, ids=[w[0] for w in WRITES])
def test_write_needs_contributor(client, contributor_token, reader_token, name, call):
    _setup(client, contributor_token)
    assert call(client, None).status_code == 401
    assert call(client, "sg_not-a-real-token").status_code == 401
    assert call(client, reader_token).status_code == 403
    assert call(client, contributor_token).status_code in (200, 201)


@pytest.mark.parametrize("call", [
    lambda c, t: json_call(c, "get", "/api/v1/tokens", t),
    lambda c, t: json_call(c, "post", "/api/v1/tokens", t, {"name": "x"}),
    lambda c, t: json_call(c, "delete", "/api/v1/tokens/1", t),
])
def test_token_endpoints_need_a_user(client, call):
    assert call(client, None).status_code == 401


def test_reads_are_anonymous(client, contributor_token):
    _setup(client, contributor_token)
    for url in ["/api/v1/products", "/api/v1/products/isgri-crab-2565", "/api/v1/sources", "/api/v1/sources/Crab",
                "/api/v1/revolutions", "/api/v1/revolutions/2565", "/api/v1/observations", "/api/v1/instruments",
                "/api/v1/product-types", "/api/v1/processing-logs", "/api/v1/products/isgri-crab-2565/versions"]:
        assert client.get(url).status_code == 200, url


def test_user_manages_own_tokens(client, reader, reader_token):
    r = json_call(client, "post", "/api/v1/tokens", reader_token, {"name": "laptop", "days": 30})
    assert r.status_code == 201
    new = r.json()
    assert new["token"].startswith("sg_") and new["expires_at"]
    assert not ApiToken.objects.filter(digest=new["token"]).exists()  # only the hash is stored
    listed = json_call(client, "get", "/api/v1/tokens", new["token"]).json()
    assert {t["name"] for t in listed} == {"tests", "laptop"}
    assert json_call(client, "delete", f"/api/v1/tokens/{new['id']}", reader_token).status_code == 200
    assert json_call(client, "get", "/api/v1/tokens", new["token"]).status_code == 401


def test_revoked_and_expired_tokens_are_refused(client, contributor):
    token, clear = create_token(contributor, "old")
    revoke_token(contributor, token.pk)
    assert post_product(client, clear, image_metadata()).status_code == 401
    token, clear = create_token(contributor, "short", days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert post_product(client, clear, image_metadata()).status_code == 401


def test_cannot_revoke_someone_elses_token(client, contributor, reader_token):
    token, _ = create_token(contributor, "mine")
    assert json_call(client, "delete", f"/api/v1/tokens/{token.pk}", reader_token).status_code == 404


def test_session_login_can_post_with_csrf(contributor):
    from django.test import Client
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(contributor)
    r = post_product(browser, None, image_metadata())
    assert r.status_code == 403  # session without CSRF token
    browser.get("/")  # sets the CSRF cookie
    csrf = browser.cookies["csrftoken"].value
    import json
    r = browser.post("/api/v1/products", {"metadata": json.dumps(image_metadata())}, HTTP_X_CSRFTOKEN=csrf)
    assert r.status_code == 201


def test_bad_token_is_401_even_with_csrf_enforced(contributor):
    """A client without a session (as `requests` is) must get 401, not a CSRF 403."""
    from django.test import Client
    api_client = Client(enforce_csrf_checks=True)
    assert post_product(api_client, None, image_metadata()).status_code == 401
    assert post_product(api_client, "sg_wrong", image_metadata()).status_code == 401
    from skygallery.gallery.services.accounts import create_token
    assert post_product(api_client, create_token(contributor)[1], image_metadata()).status_code == 201


def test_local_writes_act_as_a_contributor_or_the_first_admin(db, reader, contributor):
    """The CLI's ``--as-user`` and the pipeline's local publisher name the user the same way."""
    from skygallery.gallery.errors import Forbidden, NotFound
    from skygallery.gallery.services.accounts import acting_user, create_user
    from skygallery.pipeline.publish import LocalPublisher
    assert acting_user(contributor.username) == contributor
    with pytest.raises(Forbidden, match="as-user"):
        acting_user(reader.username)
    with pytest.raises(NotFound, match="as-user"):
        acting_user("nobody")
    with pytest.raises(NotFound, match="no admin user"):
        acting_user(None)
    admin = create_user("boss", None, role="admin")
    assert acting_user(None) == admin and LocalPublisher.for_user("").actor == admin
    assert LocalPublisher.for_user(contributor.username).actor == contributor
