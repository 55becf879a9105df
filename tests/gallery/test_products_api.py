"""Posting, versioning, reading, downloading and deleting products through /api/v1."""
import hashlib

import pytest

from skygallery.gallery.models import Product, ProductFile, ProductVersion
from skygallery.gallery.services.filestore import FileStore
from tests.conftest import REGION_TEXT, fits_image_bytes, image_metadata, png_bytes
from tests.gallery.helpers import auth, post_product

pytestmark = pytest.mark.django_db

FITS = fits_image_bytes()


def post_image(client, token, **overrides):
    files = {"fits": [("mosaic.fits", FITS), ("mosaic_sig.fits.gz", fits_image_bytes(gz=True))],
             "region": [("sources.reg", REGION_TEXT.encode())], "preview": [("preview.png", png_bytes())]}
    return post_product(client, token, image_metadata(**overrides), files)


def test_post_creates_product_with_files_and_derived_fields(client, contributor_token):
    r = post_image(client, contributor_token)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["product_id"] == "isgri-crab-2565" and body["version"] == 1
    assert body["rev1"] == body["rev2"] == 2565 and body["span"] == 0
    assert body["t1"] == "2022-10-28T05:52:20.500"  # fractional seconds kept
    assert body["sources"] == ["Crab"] and body["family"] == "image"
    assert body["provenance"]["parameters"] == {"rev_num": 2565, "E1_keV": 28.0}
    roles = sorted(f["role"] for f in body["files"])
    assert roles == ["fits", "fits", "preview", "region"]
    fits_entry = next(f for f in body["files"] if f["name"] == "mosaic.fits")
    assert fits_entry["sha256"] == hashlib.sha256(FITS).hexdigest() and fits_entry["size"] == len(FITS)
    assert fits_entry["mime"] == "application/fits"


def test_download_uses_stored_mime_and_attachment(client, contributor_token):
    body = post_image(client, contributor_token).json()
    by_name = {f["name"]: f for f in body["files"]}
    r = client.get(by_name["mosaic.fits"]["url"])
    assert r.status_code == 200 and b"".join(r.streaming_content) == FITS
    assert r["Content-Type"] == "application/fits"
    assert r["Content-Disposition"].startswith("attachment") and "mosaic.fits" in r["Content-Disposition"]
    preview = client.get(by_name["preview.png"]["url"])
    assert preview["Content-Type"] == "image/png" and preview["Content-Disposition"].startswith("inline")
    region = client.get(by_name["sources.reg"]["url"])
    assert region["Content-Disposition"].startswith("attachment") and region["X-Content-Type-Options"] == "nosniff"


def test_repost_makes_a_new_version_and_keeps_the_old_one(client, contributor_token):
    post_image(client, contributor_token)
    r = post_product(client, contributor_token,
                     image_metadata(title="Crab Rev. 2565", data_version="CONS", highlight=True),
                     {"fits": [("mosaic_cons.fits", fits_image_bytes(value=2.0))]})
    assert r.status_code == 200 and r.json()["version"] == 2
    latest = client.get("/api/v1/products/isgri-crab-2565").json()
    assert latest["title"] == "Crab Rev. 2565" and latest["data_version"] == "CONS" and latest["n_versions"] == 2
    assert [f["name"] for f in latest["files"] if f["role"] == "fits"] == ["mosaic_cons.fits"]
    assert [f["role"] for f in latest["files"]] == ["fits", "preview"]  # preview made from the new FITS
    versions = client.get("/api/v1/products/isgri-crab-2565/versions").json()
    assert [v["number"] for v in versions] == [2, 1]
    v1 = client.get("/api/v1/products/isgri-crab-2565/versions/1").json()
    assert v1["title"] == "Crab Rev. 2565 (NRT)" and v1["data_version"] == "NRT" and len(v1["files"]) == 4
    old_file = client.get(v1["files"][0]["url"])
    assert old_file.status_code == 200  # files of older versions stay downloadable
    assert Product.objects.count() == 1 and ProductVersion.objects.count() == 2


def test_keep_files_carries_files_over(client, contributor_token):
    post_image(client, contributor_token)
    r = post_product(client, contributor_token, image_metadata(highlight=True, keep_files=True))
    assert r.status_code == 200
    assert len(r.json()["files"]) == 4


def test_identical_content_is_stored_once(client, contributor_token, isolated_store):
    post_image(client, contributor_token)
    post_image(client, contributor_token, product_id="copy", title="Copy")
    digests = set(ProductFile.objects.values_list("sha256", flat=True))
    on_disk = set(FileStore(isolated_store).stored_digests())
    assert digests == on_disk and len(on_disk) == 4
    assert ProductFile.objects.count() == 8


def test_times_accept_mjd_and_ijd(client, contributor_token):
    from skygallery.science import timesys
    t1 = timesys.parse_time("2022-10-28T05:52:20.5")
    r = post_product(client, contributor_token, image_metadata(t1=f"mjd:{timesys.mjd(t1)}",
                                                               t2=timesys.ijd(timesys.parse_time("2022-10-28T13:07:26"))))
    assert r.status_code == 201, r.content
    assert r.json()["t1"] == "2022-10-28T05:52:20.500" and r.json()["t2"] == "2022-10-28T13:07:26.000"


def test_long_term_product_span(client, contributor_token):
    r = post_product(client, contributor_token, image_metadata(product_id="lt", t1="2022-10-23T05:00:00",
                                                               t2="2022-10-28T13:00:00"))
    assert (r.json()["rev1"], r.json()["rev2"], r.json()["span"]) == (2563, 2565, 2)


def test_json_body_without_files(client, contributor_token):
    import json
    r = client.post("/api/v1/products", data=json.dumps(image_metadata()), content_type="application/json",
                    **auth(contributor_token))
    assert r.status_code == 201 and r.json()["files"] == []


def test_delete_is_soft(client, contributor_token, isolated_store):
    post_image(client, contributor_token)
    r = client.delete("/api/v1/products/isgri-crab-2565", **auth(contributor_token))
    assert r.status_code == 200
    assert client.get("/api/v1/products/isgri-crab-2565").status_code == 404
    assert client.get("/api/v1/products", {"source": "Crab"}).json()["total"] == 0
    assert Product.objects.filter(deleted_at__isnull=False).count() == 1
    assert len(list(FileStore(isolated_store).stored_digests())) == 4
    # posting the same id again revives it as a new version
    assert post_image(client, contributor_token).json()["version"] == 2


def test_detected_sources_are_stored(client, contributor_token):
    dets = [{"name": "Crab", "ra": 83.633, "dec": 22.014, "flux": 69.1, "flux_err": 0.14, "significance": 497.0},
            {"name": "NEW_83.900_22.300", "ra": 83.9, "dec": 22.3, "significance": 7.4, "new_source": True}]
    body = post_product(client, contributor_token, image_metadata(detected_sources=dets)).json()
    rows = {d["name"]: d for d in body["detected_sources"]}
    assert rows["Crab"]["source"] == "Crab" and rows["Crab"]["flux"] == 69.1
    assert rows["NEW_83.900_22.300"]["new_source"] is True and rows["NEW_83.900_22.300"]["source"] is None


def test_unknown_product_and_file_404(client, contributor_token):
    assert client.get("/api/v1/products/nope").status_code == 404
    body = post_image(client, contributor_token).json()
    assert client.get(f"/api/v1/products/{body['product_id']}/files/999999").status_code == 404
    assert client.get(f"/api/v1/products/{body['product_id']}/versions/7").status_code == 404


def test_preview_is_generated_when_missing(client, contributor_token, tmp_path):
    from tests.gallery.test_previews import write_mosaic  # a synthetic OSA mosaic
    mosaic = write_mosaic(tmp_path / "m.fits").read_bytes()
    r = post_product(client, contributor_token, image_metadata(product_id="gen"), {"fits": [("m.fits", mosaic)]})
    previews = [f for f in r.json()["files"] if f["role"] == "preview"]
    assert len(previews) == 1 and previews[0]["mime"] == "image/png"
    png = b"".join(client.get(previews[0]["url"]).streaming_content)
    assert png.startswith(b"\x89PNG")
    # a given preview is kept as is, none is added
    r = post_image(client, contributor_token, product_id="given")
    assert [f["name"] for f in r.json()["files"] if f["role"] == "preview"] == ["preview.png"]
