"""Server-rendered pages (no JavaScript): content, filters, errors, escaping, feeds and tokens."""
import pytest

from skygallery.gallery.services.observations import post_observation, post_processing_log
from skygallery.gallery.services.products import post_product
from tests.conftest import REGION_TEXT, fits_image_bytes, image_metadata

pytestmark = pytest.mark.django_db
EVIL = '<script>alert("x")</script>'


@pytest.fixture
def gallery(db):
    post_observation({"title": "Crab Rev. 2565", "t1": "2022-10-28T05:52:20", "t2": "2022-10-28T13:07:26",
                      "obsids": ["1960001"], "pi": "Calib", "scw_list": ["256500300010.000"]})
    post_processing_log({"revolution": 2565, "status": "success", "job_id": "job-7"})
    post_product(image_metadata(observation="Crab Rev. 2565", sources=[
        {"name": "Crab", "ra": 83.6331, "dec": 22.0145, "object_type": "SNRemnant", "aliases": ["Tau A"]}],
        detected_sources=[{"name": "Crab", "ra": 83.633, "dec": 22.014, "flux": 69.1, "flux_err": 0.1,
                           "significance": 497}, {"name": "NEW_1", "ra": 84.0, "dec": 22.5, "significance": 8.1,
                                                  "new_source": True}]))
    post_product(image_metadata(product_id="lc-long", title=f"Crab light curve {EVIL}", product_type="isgri_lc",
                                t1="2022-10-23T05:00:00", t2="2022-10-28T13:00:00", highlight=True))
    post_product(image_metadata(product_id="spec-long", title="Crab cumulative spectrum", product_type="isgri_spectrum",
                                t1="2022-10-23T05:00:00", t2="2022-10-28T13:00:00"))


def test_home_cards_sections_and_permalink_filters(client, gallery):
    page = client.get("/").content.decode()
    assert "Highlights" in page and "Long-term products" in page and "Crab Rev. 2565 (NRT)" in page
    assert "Proposal IDs:" in page and "1960001" in page and "2565 – 2565" in page
    filtered = client.get("/", {"instrument": "isgri", "family": "lightcurve"}).content.decode()
    assert "Crab light curve" in filtered and "Crab Rev. 2565 (NRT)" not in filtered
    assert "Highlights" not in filtered  # sections only on the unfiltered home


def test_bad_filters_are_explained_not_500(client, gallery):
    for query, text in [({"t1": "2022-10-27"}, "ISOT"), ({"e1": 40, "e2": 20}, "E max"),
                        ({"rev": "abc"}, "whole number"), ({"instrument": "hubble"}, "valid choice")]:
        r = client.get("/", query)
        assert r.status_code == 200 and text in r.content.decode(), query
    r = client.get("/", {"source": "Nowhere"})
    assert "No product matches" in r.content.decode() and "source list" in r.content.decode()


def test_user_text_is_escaped_everywhere(client, gallery):
    for url in ["/", "/sources/Crab/", "/products/lc-long/", "/revolutions/2563/", "/feed/"]:
        body = client.get(url).content.decode()
        assert EVIL not in body, url
    assert "&lt;script&gt;" in client.get("/products/lc-long/").content.decode()


def test_revolution_page(client, gallery):
    assert client.get("/revolutions/").status_code == 302
    page = client.get("/revolutions/2565/").content.decode()
    assert "Crab Rev. 2565" in page and "Calib" in page and "success" in page and "job-7" in page
    assert "IBIS/ISGRI · ISGRI image" in page
    jemx = client.get("/revolutions/2565/", {"instrument": "jemx1"}).content.decode()
    assert "No product of this observation" in jemx
    assert "not a revolution number" in client.get("/revolutions/", {"rev": "abc"}).content.decode()
    assert "No data of revolution 12" in client.get("/revolutions/12/").content.decode()


def test_sources_list_and_page(client, gallery):
    listing = client.get("/sources/", {"q": "tau a"}).content.decode()
    assert ">Crab</a>" in listing and "SNRemnant" in listing and "simbad" in listing
    assert "No source matches" in client.get("/sources/", {"q": "zzz"}).content.decode()
    assert client.get("/sources/", {"object_type": "SNRemnant"}).content.decode().count("<tr>") >= 2
    r = client.get("/sources/tau%20a/")
    assert r.status_code == 302 and r["Location"] == "/sources/Crab/"
    page = client.get("/sources/Crab/").content.decode()
    assert "05:34:31.94" in page and "+22:00:52.2" in page and "Tau A" in page
    assert page.index("Highlights") < page.index("Long-term products") < page.index("Per-revolution products")
    assert client.get("/sources/Nowhere/").status_code == 404


def test_product_page(client, gallery):
    page = client.get("/products/isgri-crab-2565/").content.decode()
    for text in ["Crab Rev. 2565 (NRT)", "28 – 40 keV", "2022-10-28T05:52:20.500", "59880.24", "Copy parameters",
                 "rev_num = 2565", "E1_keV = 28.0", "NEW_1", 'class="new"', "/sources/Crab/"]:
        assert text in page, text
    assert client.get("/products/nope/").status_code == 404


def test_significance_map_and_plot_endpoints(client, db):
    post_product(image_metadata(), [])
    assert client.get("/products/isgri-crab-2565/significance.fits").status_code == 404  # no FITS file
    from skygallery.gallery.services.uploads import Upload
    import io
    post_product(image_metadata(product_id="img2"), [Upload("fits", "m.fits", io.BytesIO(fits_image_bytes())),
                                                     Upload("region", "r.reg", io.BytesIO(REGION_TEXT.encode()))])
    r = client.get("/products/img2/significance.fits")
    assert r.status_code == 200 and r.content.startswith(b"SIMPLE  =") and r["Cache-Control"].startswith("public")
    assert client.get("/products/img2/plot.json").status_code == 404  # images are shown by JS9


def test_feeds(client, gallery):
    feed = client.get("/feed/").content.decode()
    assert feed.startswith("<?xml") and "<feed" in feed and "Crab Rev. 2565 (NRT)" in feed
    src = client.get("/sources/Crab/feed/").content.decode()
    assert "new products of Crab" in src and "/products/isgri-crab-2565/" in src
    assert client.get("/sources/Nowhere/feed/").status_code == 404


def test_tokens_page(client, reader):
    assert client.get("/accounts/tokens/").status_code == 302  # sign-in first
    client.force_login(reader)
    r = client.post("/accounts/tokens/", {"name": "laptop", "days": 7})
    token = r.content.decode().split('id="new-token"><code>')[1].split("<")[0]
    assert token.startswith("sg_") and "laptop" in r.content.decode()
    from django.test import Client
    api = Client()  # no session: only the token authenticates
    assert api.get("/api/v1/tokens", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    token_id = reader.api_tokens.get(name="laptop").pk
    client.post(f"/accounts/tokens/{token_id}/revoke/")
    assert api.get("/api/v1/tokens", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 401
    assert "revoked" in client.get("/accounts/tokens/").content.decode()


def test_signup_and_login(client):
    r = client.post("/accounts/signup/", {"username": "newbie", "email": "n@example.org",
                                          "password1": "a-long-Pass-phrase-42", "password2": "a-long-Pass-phrase-42"})
    assert r.status_code == 302
    from django.contrib.auth.models import User
    assert list(User.objects.get(username="newbie").groups.values_list("name", flat=True)) == ["reader"]
    client.logout()
    r = client.post("/accounts/login/", {"username": "newbie", "password": "a-long-Pass-phrase-42"})
    assert r.status_code == 302
    assert "newbie" in client.get("/").content.decode()


@pytest.mark.real_commit
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_anonymous_pages_are_cached_until_the_next_write(client, django_assert_max_num_queries):
    post_product(image_metadata(title="First title"))
    assert "First title" in client.get("/").content.decode()
    with django_assert_max_num_queries(0):
        assert "First title" in client.get("/").content.decode()  # served from the cache
    post_product(image_metadata(title="Second title"))  # a new version: every cached page is stale
    body = client.get("/").content.decode()
    assert "Second title" in body and "First title" not in body
    assert "Second title" in client.get("/products/isgri-crab-2565/").content.decode()


def test_contributors_edit_and_delete_from_the_product_page(client, gallery, contributor, reader):
    assert "Edit</a>" not in client.get("/products/isgri-crab-2565/").content.decode()
    client.force_login(reader)
    assert client.get("/products/isgri-crab-2565/edit/").status_code == 403
    assert client.post("/products/isgri-crab-2565/delete/").status_code == 403
    client.force_login(contributor)
    assert "Edit</a>" in client.get("/products/isgri-crab-2565/").content.decode()
    r = client.post("/products/isgri-crab-2565/edit/", {"title": "Crab Rev. 2565", "highlight": "on",
                                                         "data_version": "CONS"})
    assert r.status_code == 302
    from skygallery.gallery.models import Product
    p = Product.objects.get(product_id="isgri-crab-2565")
    assert (p.version, p.title, p.highlight, p.data_version) == (2, "Crab Rev. 2565", True, "CONS")
    v2 = p.current_version().metadata
    assert {d["name"] for d in v2["detected_sources"]} == {"Crab", "NEW_1"} and v2["observation"] == "Crab Rev. 2565"
    assert "value_error" not in client.post("/products/isgri-crab-2565/edit/", {"title": "", "data_version": "CONS"}
                                            ).content.decode()
    assert client.post("/products/isgri-crab-2565/delete/").status_code == 302
    assert client.get("/products/isgri-crab-2565/").status_code == 404
