"""Every write validates: a 4xx naming the field, and nothing half-written."""
import pytest

from skygallery.gallery.models import Observation, Product, ProductVersion, Source
from skygallery.gallery.services.filestore import FileStore
from tests.conftest import fits_image_bytes, image_metadata, png_bytes
from tests.gallery.helpers import fields, json_call, post_product

pytestmark = pytest.mark.django_db


def assert_nothing_stored(store_root):
    assert Product.objects.count() == 0 and ProductVersion.objects.count() == 0
    assert list(FileStore(store_root).stored_digests()) == []
    tmp = store_root / "tmp"
    assert not tmp.exists() or list(tmp.iterdir()) == []


@pytest.mark.parametrize("overrides, field", [
    ({"ra": 458.0}, "ra"),
    ({"ra": -0.5}, "ra"),
    ({"dec": -91.0}, "dec"),
    ({"ra": 10.0, "dec": None}, "dec"),
    ({"e1_kev": 40, "e2_kev": 28}, "e2_kev"),
    ({"e1_kev": 40, "e2_kev": 40}, "e2_kev"),
    ({"e1_kev": -3}, "e1_kev"),
    ({"t1": "2022-10-28T13:07:26", "t2": "2022-10-28T05:52:20"}, "t2"),
    ({"t1": "2022-10-28 25:00:00"}, "t1"),
    ({"t1": "yesterday"}, "t1"),
    ({"instrument": "xmm"}, "instrument"),
    ({"product_type": "isgri_movie"}, "product_type"),
    ({"product_type": "jemx_image"}, "product_type"),
    ({"product_type": "isgri_lc", "sources": []}, "sources"),
    ({"product_type": "isgri_spectrum", "sources": []}, "sources"),
    ({"title": ""}, "title"),
    ({"title": "   "}, "title"),
    ({"product_id": "../etc/passwd"}, "product_id"),
    ({"observation": "no such observation"}, "observation"),
    ({"sources": ["Totally Unknown Thing"], "create_sources": False}, "sources.0.name"),
    ({"sources": ["Totally Unknown Thing"], "create_sources": True}, "sources.0.name"),
    ({"detected_sources": [{"name": "X", "ra": 400, "dec": 0}]}, "detected_sources.0.ra"),
    ({"time_bin_s": 0}, "time_bin_s"),
    ({"data_version": "FINAL"}, "data_version"),
    ({"unknown_field": 1}, "unknown_field"),
])
def test_invalid_metadata_is_422_naming_the_field(client, contributor_token, isolated_store, overrides, field):
    r = post_product(client, contributor_token, image_metadata(**overrides),
                     {"fits": [("m.fits", fits_image_bytes())], "preview": [("p.png", png_bytes())]})
    assert r.status_code == 422, r.content
    assert field in fields(r), r.json()
    assert_nothing_stored(isolated_store)


@pytest.mark.parametrize("role, name, content, field", [
    ("fits", "fake.fits", b"this is not a FITS file at all" * 10, "files.fits"),
    ("fits", "broken.fits.gz", b"\x1f\x8b\x08\x00garbage", "files.fits"),
    ("rmf", "resp.rmf", b"SIMPLE  = nonsense", "files.rmf"),
    ("preview", "p.png", b"<svg onload=alert(1)></svg>", "files.preview"),
    ("yaml", "obs.yaml", b"a: [unclosed", "files.yaml"),
    ("fits", "empty.fits", b"", "files.fits"),
    ("bogus", "x.bin", b"123", "files.bogus"),
])
def test_bad_files_are_rejected(client, contributor_token, isolated_store, role, name, content, field):
    r = post_product(client, contributor_token, image_metadata(), {"preview": [("ok.png", png_bytes())],
                                                                    role: [(name, content)]})
    assert r.status_code == 422, r.content
    assert field in fields(r)
    assert_nothing_stored(isolated_store)


def test_oversized_upload_is_413(client, contributor_token, isolated_store, settings):
    settings.MAX_UPLOAD_BYTES = 20_000
    r = post_product(client, contributor_token, image_metadata(), {"fits": [("big.fits", fits_image_bytes((128, 128)))]})
    assert r.status_code == 413
    assert_nothing_stored(isolated_store)


def test_malformed_json_metadata(client, contributor_token, isolated_store):
    r = client.post("/api/v1/products", {"metadata": "{not json"}, HTTP_AUTHORIZATION=f"Bearer {contributor_token}")
    assert r.status_code == 422 and "metadata" in fields(r)
    r = client.post("/api/v1/products", {"other": "x"}, HTTP_AUTHORIZATION=f"Bearer {contributor_token}")
    assert r.status_code == 422 and "metadata" in fields(r)
    r = client.post("/api/v1/products", {"metadata": "[1, 2]"}, HTTP_AUTHORIZATION=f"Bearer {contributor_token}")
    assert r.status_code == 422
    assert_nothing_stored(isolated_store)


def test_failure_after_sources_rolls_back_everything(client, contributor_token, isolated_store):
    """A post that creates a source and then fails on another field leaves no source behind."""
    meta = image_metadata(sources=[{"name": "Brand New Source", "ra": 10.0, "dec": 10.0}, "Unknown Other"],
                          create_sources=True)
    r = post_product(client, contributor_token, meta, {"fits": [("m.fits", fits_image_bytes())]})
    assert r.status_code == 422 and "sources.1.name" in fields(r)
    assert not Source.objects.filter(name="Brand New Source").exists()
    assert_nothing_stored(isolated_store)


def test_script_in_title_is_stored_as_text_and_escaped(client, contributor_token):
    title = '<script>alert("x")</script> Crab'
    r = post_product(client, contributor_token, image_metadata(title=title))
    assert r.status_code == 201 and r.json()["title"] == title
    page = client.get("/").content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert" in page


@pytest.mark.parametrize("body, field", [
    ({"name": "X1", "ra": 458, "dec": 0}, "ra"),
    ({"name": "X1", "ra": 10, "dec": 95}, "dec"),
    ({"name": "", "ra": 10, "dec": 5}, "name"),
    ({"name": "X1", "ra": 10, "dec": 5, "colour": "red"}, "colour"),
])
def test_bad_source_input(client, contributor_token, body, field):
    r = json_call(client, "post", "/api/v1/sources", contributor_token, body)
    assert r.status_code == 422, r.content
    assert any(field in f for f in fields(r))
    assert Source.objects.count() == 0


@pytest.mark.parametrize("body, field", [
    ({"title": "obs", "t1": "2022-10-28T13:00:00", "t2": "2022-10-28T05:00:00"}, "t2"),
    ({"title": "obs", "t1": "2022-13-28T13:00:00", "t2": "2022-10-28T05:00:00"}, "t1"),
    ({"title": "", "t1": "2022-10-28T05:00:00", "t2": "2022-10-28T13:00:00"}, "title"),
])
def test_bad_observation_input(client, contributor_token, body, field):
    r = json_call(client, "post", "/api/v1/observations", contributor_token, body)
    assert r.status_code == 422 and field in fields(r), r.content
    assert Observation.objects.count() == 0


def test_bad_processing_log(client, contributor_token):
    r = json_call(client, "post", "/api/v1/processing-logs", contributor_token,
                  {"revolution": 0, "status": "success"})
    assert r.status_code == 422
    r = json_call(client, "post", "/api/v1/processing-logs", contributor_token,
                  {"revolution": 2565, "status": "exploded"})
    assert r.status_code == 422 and "status" in " ".join(fields(r))


def test_paths_in_upload_names_never_reach_the_store(client, contributor_token, isolated_store):
    """Django's multipart parser drops directories and non-printable characters from names; the
    service checks names again (below), and a name is only ever metadata."""
    r = post_product(client, contributor_token, image_metadata(), {"fits": [("../../escape.fits", fits_image_bytes())]})
    assert r.status_code == 201
    assert r.json()["files"][0]["name"] == "escape.fits"
    assert not (isolated_store.parent / "escape.fits").exists()


@pytest.mark.parametrize("name", ["../x.fits", "a/b.fits", "..", "c:\\x.fits", "tab\tname.fits", "bell\x07.fits", " "])
def test_service_rejects_path_like_names(name, isolated_store):
    import io

    from skygallery.gallery.errors import InvalidInput
    from skygallery.gallery.services.products import post_product as service_post
    from skygallery.gallery.services.uploads import Upload
    with pytest.raises(InvalidInput) as err:
        service_post(image_metadata(), [Upload("fits", name, io.BytesIO(fits_image_bytes()))])
    assert err.value.errors[0][0] == "files.fits"
    assert_nothing_stored(isolated_store)
