"""Through the unmodified oda_api client against a live server: writes refused without the contributor role
(with MMODA's messages, nothing written), and revolution ranges of any length answered in full."""
from __future__ import annotations

from datetime import timedelta

import jwt
import pytest

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

T1, T2 = "2022-10-22T05:10:00", "2022-10-23T18:00:00"
ROLE_MESSAGE = ("Unfortunately, your privileges are not sufficient to {action}.\nYour privilege roles include "
                "{roles}, but the following roles are missing: gallery contributor.")


def _writes(files):
    """Every write of the client, each with the action its refusal message names."""
    post = "post on the product gallery"
    return [
        ("post_product_to_gallery", post, lambda d, t: d.post_data_product_to_gallery(
            product_id="refused", product_title="Refused", token=t, instrument="isgri", product_type="isgri_image",
            e1_kev=28, e2_kev=40, T1=T1, T2=T2, src_name="Crab", insert_new_source=True,
            gallery_image_path=files["png"])),
        ("delete_product_to_gallery", "delete from the product gallery",
         lambda d, t: d.delete_data_product_from_gallery_via_product_id(product_id="kept", token=t)),
        ("post_observation_to_gallery", post, lambda d, t: d.post_observation_to_gallery(
            observation_title="refused obs", T1=T1, T2=T2, yaml_file_path=[files["yaml1"]], token=t)),
        ("post_observation_to_gallery", post, lambda d, t: d.update_observation_with_title(
            observation_title="refused obs", T1=T1, T2=T2, create_new=True, token=t)),
        ("post_astro_entity_to_gallery", post,
         lambda d, t: d.update_source_with_name(source_name="Crab", source_dec=1.0, token=t)),
    ]


def _kept_product():
    from skygallery.gallery.services.products import post_product
    post_product({"product_id": "kept", "title": "Kept", "instrument": "isgri", "product_type": "isgri_image",
                  "e1_kev": 28, "e2_kev": 40, "t1": T1, "t2": T2})


def _state() -> tuple:
    from skygallery.gallery.models import Observation, Product, Source
    return (sorted(Product.objects.filter(deleted_at__isnull=True).values_list("product_id", flat=True)),
            Observation.objects.count(), Source.objects.count(), list(Source.objects.values_list("dec_deg", flat=True)))


@pytest.mark.parametrize("kind", ["none", "reader_jwt", "reader_api_token", "expired", "foreign"])
def test_writes_without_the_contributor_role_are_refused(disp, files, statuses, reader_jwt, reader_token, kind,
                                                        settings):
    from skygallery.gallery.services.jwt_tokens import decode_jwt
    claims = decode_jwt(reader_jwt)
    contributor_claims = {**claims, "sub": "ada@example.org", "roles": "gallery contributor"}
    token, roles, message = {
        "none": (None, None, "A token must be provided."),
        "reader_jwt": (reader_jwt, "['general']", None),
        "reader_api_token": (reader_token, "['reader']", None),
        "expired": (jwt.encode({**contributor_claims, "exp": claims["exp"] - 86400 * 2}, settings.SECRET_KEY),
                    None, "The token provided is expired."),
        "foreign": (jwt.encode(contributor_claims, "another dispatcher's secret, not ours at all"), None,
                    "The token provided is not valid."),
    }[kind]
    _kept_product()
    before = _state()
    for endpoint, action, call in _writes(files):
        statuses.clear()
        answer = call(disp, token)
        assert answer["error_message"] == (message or ROLE_MESSAGE.format(action=action, roles=roles))
        assert statuses[-1] == ("POST", endpoint, 403)
    assert _state() == before


def _span_products():
    """Per-revolution images around the client's 250-revolution chunk edges, long-term ones, and some outside."""
    from skygallery.gallery.services.products import post_product
    from skygallery.gallery.services.timing import isot, revolution_bounds

    def post(pid, rev1, rev2):
        start1, start2 = revolution_bounds(rev1)[0], revolution_bounds(rev2)[0]
        post_product({"product_id": pid, "title": pid, "instrument": "isgri", "product_type": "isgri_image",
                      "e1_kev": 28, "e2_kev": 40, "t1": isot(start1 + timedelta(hours=1)),
                      "t2": isot(start2 + timedelta(hours=2))})
    inside = {f"rev-{r}": (r, r) for r in (100, 349, 350, 351, 599, 600, 849, 850, 1000)}
    inside.update({"long-100-700": (100, 700), "long-340-360": (340, 360), "long-999-1000": (999, 1000)})
    outside = {"rev-99": (99, 99), "rev-1001": (1001, 1001), "long-900-1100": (900, 1100)}
    for pid, (r1, r2) in {**inside, **outside}.items():
        post(pid, r1, r2)
    return set(inside)


def test_any_revolution_range_in_one_request_and_through_the_chunked_client(disp, contributor_jwt, statuses):
    from skygallery.gallery.services.timing import isot, revolution_bounds
    expected = _span_products()
    t1, t2 = isot(revolution_bounds(100)[0] + timedelta(hours=3)), isot(revolution_bounds(1000)[1] - timedelta(hours=3))
    chunked = disp.get_list_images_with_conditions(token=contributor_jwt, instrument="isgri", t1=t1, t2=t2)
    single = disp.get_list_products_with_conditions(token=contributor_jwt, product_type="image", rev1_value=100,
                                                    rev2_value=1000)
    chunked_ids = [p["product_id"] for p in chunked]
    assert sorted(chunked_ids) == sorted(expected) and len(chunked_ids) == len(set(chunked_ids))
    assert sorted(p["product_id"] for p in single) == sorted(expected)
    calls = [s for s in statuses if s[1] == "get_data_product_list_with_conditions"]
    assert len(calls) == 6 and all(status == 200 for *_, status in calls)  # 4 chunks + long-term + single
    per_revolution = disp.get_list_products_with_conditions(token=contributor_jwt, rev1_value=340, rev2_value=360,
                                                            max_span_rev_value=0)
    assert sorted(p["product_id"] for p in per_revolution) == ["rev-349", "rev-350", "rev-351"]
