"""ProductSource rows carry copies of the product columns that per-source queries use: they must follow
every change of the product (new version, edit, soft delete) and of its sources."""
import pytest

from skygallery.gallery.models import Product, ProductSource
from skygallery.gallery.services.pages import source_page
from skygallery.gallery.services.products import (
    delete_product,
    edit_product,
)
from skygallery.gallery.services.search import search_products
from skygallery.gallery.services.sources import get_source, merge_sources, update_source
from tests.gallery.helpers import post_light_curve

pytestmark = pytest.mark.django_db
GX = {"name": "GX 1+4", "ra": 263.0126, "dec": -24.7456, "object_type": "LowMassXBin"}


def _assert_copies_match(product_id):
    p = Product.objects.get(product_id=product_id)
    links = list(ProductSource.objects.filter(product=p))
    assert links
    for link in links:
        assert (link.t_start, link.live, link.instrument_id, link.product_type_id, link.span, link.highlight,
                link.rev1, link.rev2, link.span_class) == (
            p.t_start, p.deleted_at is None, p.instrument_id, p.product_type_id, p.span, p.highlight,
            p.rev1, p.rev2, p.span_class)
        assert link.object_type == link.source.object_type


def test_copies_follow_versions_edits_and_deletion():
    post_light_curve("a", [GX])
    _assert_copies_match("a")
    post_light_curve("a", [GX, "Vela X-1"], t1="2005-01-01T00:00:00", t2="2005-03-01T00:00:00", highlight=True,
          instrument="jemx1", product_type="jemx_lc", e1_kev=3, e2_kev=20)
    _assert_copies_match("a")
    assert Product.objects.get(product_id="a").span > 0
    edit_product("a", {"highlight": False})
    _assert_copies_match("a")
    page = source_page(get_source("GX 1+4"))
    assert page["n_products"] == 1 and [c["product"].product_id for c in page["long_term"]] == ["a"]
    delete_product("a")
    _assert_copies_match("a")
    assert search_products({"source": "GX 1+4"}).total == 0
    page = source_page(get_source("GX 1+4"))
    assert page["n_products"] == 0 and not page["long_term"] and page["counts"] == []


def test_source_page_sections_and_counts():
    post_light_curve("hl", [GX], highlight=True)
    post_light_curve("lt", [GX], t1="2005-01-01T00:00:00", t2="2005-06-01T00:00:00")
    for i in range(3):
        post_light_curve(f"r{i}", [GX], t1=f"2010-0{i + 1}-01T00:00:00", t2=f"2010-0{i + 1}-01T05:00:00",
              instrument="jemx2", product_type="jemx_spectrum", e1_kev=3, e2_kev=20)
    page = source_page(get_source("gx 1+4"))
    assert [c["product"].product_id for c in page["highlights"]] == ["hl"]
    assert [c["product"].product_id for c in page["long_term"]] == ["lt"]
    assert [c["product"].product_id for c in page["per_revolution"]] == ["r2", "r1", "r0"]
    assert {(c["instrument__label"], c["product_type__family"]): c["n"] for c in page["counts"]} == {
        ("IBIS/ISGRI", "lightcurve"): 2, ("JEM-X2", "spectrum"): 3}
    assert page["n_products"] == 5


def test_object_type_copies_follow_sources():
    """Links copy their source's object type: when linked, when the type is edited, when sources merge."""
    post_light_curve("a", [GX, {"name": "Vela X-1", "ra": 135.5286, "dec": -40.5547, "object_type": "HighMassXBin"}])
    post_light_curve("b", ["GX 1+4"])
    _assert_copies_match("a")
    rev = {"instrument": "isgri", "rev": Product.objects.get(product_id="a").rev1}
    assert {p.product_id for p in search_products({"object_type": "lowmassxbin", **rev}).results} == {"a", "b"}
    update_source(get_source("GX 1+4"), object_type="XrayBin")
    _assert_copies_match("a")
    _assert_copies_match("b")
    assert search_products({"object_type": "LowMassXBin", **rev}).total == 0
    assert search_products({"object_type": "XrayBin", **rev}).total == 2
    merge_sources(get_source("Vela X-1"), get_source("GX 1+4"))
    _assert_copies_match("a")
    _assert_copies_match("b")
    assert search_products({"object_type": "XrayBin", **rev}).total == 0
    assert {p.product_id for p in search_products({"object_type": "highmassxbin", **rev}).results} == {"a", "b"}
