"""Our MMODA-style JWTs: minted by the CLI, mapped to users on first use, accepted by /dispatch-data and as
Bearer tokens on /api/v1 (where they grant no more than their roles), next to our own API tokens."""
from __future__ import annotations

import time

import jwt
import pytest
from typer.testing import CliRunner

from skygallery.client.cli import app
from tests.conftest import image_metadata
from tests.gallery.helpers import auth, post_product

pytestmark = pytest.mark.django_db


def _user(email):
    from django.contrib.auth import get_user_model
    return get_user_model().objects.filter(email=email).first()


def _role(email):
    from skygallery.gallery.services.accounts import role_of
    return role_of(_user(email))


def test_cli_mints_a_token_oda_api_accepts(monkeypatch, settings):
    import oda_api.token
    out = CliRunner().invoke(app, ["token", "create", "--email", "ada@example.org", "--roles",
                                   "general, gallery contributor", "--days", "7", "-q"])
    assert out.exit_code == 0, out.output
    token = out.stdout.strip()
    claims = jwt.decode(token, settings.SECRET_KEY, algorithms=["HS256"])
    assert claims["sub"] == "ada@example.org" and claims["roles"] == "general, gallery contributor"
    assert abs(claims["exp"] - time.time() - 7 * 86400) < 60
    monkeypatch.setenv("ODA_TOKEN", token)
    assert oda_api.token.discover_token() == token  # what GalleryDispatcherAPI sends by default
    assert oda_api.token.get_token_roles(claims) == ["general", "gallery contributor"]
    assert _user("ada@example.org") is None  # created on first use, not when minted


@pytest.mark.parametrize("args, field", [
    (["--email", "not-an-address"], "email"), (["--email", "a@example.org", "--days", "0"], "days"),
    (["--email", "a@example.org", "--user", "bob"], "email"), ([], "user")])
def test_cli_refuses_bad_jwt_requests(args, field):
    out = CliRunner().invoke(app, ["token", "create", *args])
    assert out.exit_code == 2 and field in out.stderr


def test_first_use_creates_the_user_and_the_role_claim_decides(client, jwt_for):
    contributor, reader = jwt_for("ada@example.org", "gallery contributor"), jwt_for("rob@example.org", "general")
    assert post_product(client, contributor, image_metadata()).status_code == 201
    assert _role("ada@example.org") == "contributor"
    assert post_product(client, reader, image_metadata(product_id="x")).status_code == 403
    assert _role("rob@example.org") == "reader"
    assert client.get("/api/v1/tokens", **auth(reader)).status_code == 200  # a user like any other
    assert post_product(client, jwt_for("rob@example.org", "gallery contributor"),
                        image_metadata(product_id="x")).status_code == 201
    assert _role("rob@example.org") == "contributor"  # upgraded by a contributor token
    assert _user("ada@example.org").username == "ada@example.org"


def test_jwt_grants_no_more_than_its_roles_and_our_api_tokens_still_work(client, contributor, contributor_token,
                                                                          jwt_for, settings):
    no_role = jwt_for(contributor.email, "general")
    assert post_product(client, no_role, image_metadata()).status_code == 403  # although carla is a contributor
    assert post_product(client, contributor_token, image_metadata()).status_code == 201
    expired = jwt.encode({"sub": contributor.email, "roles": "gallery contributor", "exp": int(time.time()) - 10},
                         settings.SECRET_KEY)
    assert post_product(client, expired, image_metadata(product_id="y")).status_code == 401
    assert post_product(client, jwt_for(contributor.email, "gallery contributor"),
                        image_metadata(product_id="y")).status_code == 201


@pytest.mark.parametrize("claims, message", [
    ({"roles": "gallery contributor"}, "The token provided is not valid."),  # no sub
    ({"sub": "not an e-mail", "roles": "gallery contributor"}, "The token provided is not valid."),
    ({"sub": "ada@example.org", "roles": "gallery contributor", "exp": 1}, "The token provided is expired.")])
def test_dispatcher_messages_for_bad_tokens(client, settings, claims, message):
    token = jwt.encode({"exp": int(time.time()) + 600, **claims}, settings.SECRET_KEY)
    res = client.post("/dispatch-data/post_astro_entity_to_gallery", {"src_name": "Crab", "token": token})
    assert (res.status_code, res.json()["error_message"]) == (403, message)
    res = client.get("/dispatch-data/get_all_astro_entities", {"token": token})  # a sent token must be valid
    assert res.status_code == 403


def test_reads_are_open_and_bearer_works_on_the_dispatcher(client, jwt_for):
    assert client.get("/dispatch-data/get_list_terms", {"group": "instruments"}).status_code == 200
    res = client.post("/dispatch-data/post_astro_entity_to_gallery", {"src_name": "Crab", "auto_update": "True"},
                      **auth(jwt_for("ada@example.org", "gallery contributor")))
    assert res.status_code == 200 and res.json()["title"] == [{"value": "Crab"}]
