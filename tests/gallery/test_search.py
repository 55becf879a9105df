"""Product search: each filter against a brute-force answer, paging, totals and bad query strings."""
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from skygallery.gallery.models import Instrument, Product, ProductSource, ProductType
from skygallery.gallery.services import search
from skygallery.gallery.services.search import search_products
from skygallery.gallery.services.sources import create_source
from skygallery.gallery.services.timing import revolution_range
from skygallery.science.sphere import separation_deg
from tests.gallery.helpers import fields, post_light_curve

pytestmark = pytest.mark.django_db
T0 = datetime(2003, 1, 1, tzinfo=UTC)


@pytest.fixture(params=["few by ids", "few by filters", "many"], autouse=True)
def match_plan(request, monkeypatch):
    """Every test runs through every query plan: few matches sorted by the database from their id list
    or found again by the filters, and the "many" plan that reads the first page in time order with
    the selective filters checked per row."""
    monkeypatch.setattr(search, "FEW_MATCHES", -1 if request.param == "many" else 10**9)
    monkeypatch.setattr(search, "SORT_BY_ID_LIST", 10**9 if request.param == "few by ids" else -1)
    return request.param


@pytest.fixture
def random_products(db):
    """300 products with random times, revolutions, bands and positions (positions cover the poles and RA 0)."""
    rng = np.random.default_rng(42)
    inst = {i.name: i for i in Instrument.objects.all()}
    types = {t.name: t for t in ProductType.objects.all()}
    rows = []
    for i in range(300):
        long_term = rng.random() < 0.2
        t1 = T0 + timedelta(hours=float(rng.uniform(0, 24 * 365 * 20)))
        t2 = t1 + timedelta(hours=float(rng.exponential(8000) if long_term else rng.uniform(0, 20)))
        rev1, rev2 = revolution_range(t1, t2)   # as the services derive them from the times
        ra = float(rng.uniform(0, 360))
        dec = float(np.degrees(np.arcsin(rng.uniform(-1, 1))))
        if i % 10 == 0:
            ra, dec = float(rng.choice([0.2, 359.8])), float(rng.uniform(-5, 5))
        if i % 15 == 0:
            dec = float(rng.uniform(85, 90))
        name = ["isgri", "jemx1", "jemx2"][i % 3]
        ptype = {"isgri": "isgri_image", "jemx1": "jemx_lc", "jemx2": "jemx_spectrum"}[name]
        e1 = float(rng.choice([3, 20, 28, 30]))
        p = Product(product_id=f"p{i}", title=f"Product {i}", instrument=inst[name], product_type=types[ptype],
                    e1_kev=e1, e2_kev=e1 + float(rng.choice([10, 12, 17, 50])), t_start=t1, t_end=t2, rev1=rev1,
                    rev2=rev2, highlight=(i % 37 == 0), data_version="NRT" if i % 4 == 0 else "CONS")
        p.set_position(ra, dec)
        p.save()
        rows.append(p)
    return rows


def ids(params):
    page = search_products({**params, "page_size": 500})
    assert page.total == len(page.results)
    return {p.product_id for p in page.results}


def test_revolution_overlap_matches_brute_force(random_products):
    rng = np.random.default_rng(7)
    for _ in range(40):
        r1 = int(rng.integers(1, 2900))
        r2 = r1 + int(rng.choice([0, 1, 30, 400]))
        expected = {p.product_id for p in random_products if p.rev1 <= r2 and p.rev2 >= r1}
        assert ids({"rev1": r1, "rev2": r2}) == expected
        inside = {p.product_id for p in random_products if p.rev1 >= r1 and p.rev2 <= r2}
        assert ids({"rev1": r1, "rev2": r2, "rev_mode": "inside"}) == inside
    r = random_products[5].rev1
    assert ids({"rev": r}) == {p.product_id for p in random_products if p.rev1 <= r <= p.rev2}


def test_time_overlap_matches_brute_force(random_products):
    rng = np.random.default_rng(8)
    for _ in range(40):
        a = T0 + timedelta(hours=float(rng.uniform(0, 24 * 365 * 20)))
        b = a + timedelta(hours=float(rng.choice([0.5, 30, 3000])))
        expected = {p.product_id for p in random_products if p.t_start <= b and p.t_end >= a}
        assert ids({"t1": a.strftime("%Y-%m-%dT%H:%M:%S.%f"), "t2": b.strftime("%Y-%m-%dT%H:%M:%S.%f")}) == expected


@pytest.mark.parametrize("ra, dec, radius", [(0.0, 0.0, 2.0), (359.9, 1.0, 5.0), (10.0, 88.0, 4.0),
                                             (200.0, 89.9, 1.0), (123.0, -30.0, 40.0), (180.0, -90.0, 10.0)])
def test_cone_matches_brute_force(random_products, ra, dec, radius):
    expected = {p.product_id for p in random_products
                if separation_deg(ra, dec, p.ra_deg, p.dec_deg) <= radius}
    assert ids({"ra": ra, "dec": dec, "radius": radius}) == expected
    assert ids({"ra": ra, "dec": dec, "radius": f"{radius * 60}arcmin"}) == expected
    assert ids({"ra": ra, "dec": dec, "radius": radius * 60, "radius_unit": "arcmin"}) == expected


def test_bands_instruments_and_flags(random_products):
    P = random_products
    assert ids({"e1": 20, "e2": 40}) == {p.product_id for p in P if p.e1_kev >= 20 and p.e2_kev <= 40}
    assert ids({"e1": 20, "e2": 40, "band_mode": "overlap"}) == {p.product_id for p in P
                                                                 if p.e1_kev < 40 and p.e2_kev > 20}
    assert ids({"instrument": "jemx"}) == {p.product_id for p in P if p.instrument.name.startswith("jemx")}
    assert ids({"instrument": "isgri,jemx2"}) == {p.product_id for p in P if p.instrument.name in ("isgri", "jemx2")}
    assert ids({"family": "lightcurve"}) == {p.product_id for p in P if p.product_type.family == "lightcurve"}
    assert ids({"product_type": "spectrum"}) == {p.product_id for p in P if p.product_type.family == "spectrum"}
    assert ids({"product_type": "isgri_image"}) == {p.product_id for p in P if p.product_type.name == "isgri_image"}
    assert ids({"long_term": "true"}) == {p.product_id for p in P if p.span > 0}
    assert ids({"long_term": "false"}) == {p.product_id for p in P if p.span == 0}
    assert ids({"min_span": 100}) == {p.product_id for p in P if p.span >= 100}
    assert ids({"highlight": "1"}) == {p.product_id for p in P if p.highlight}
    assert ids({"data_version": "NRT"}) == {p.product_id for p in P if p.data_version == "NRT"}
    assert ids({"q": "duct 12"}) == {p.product_id for p in P if "duct 12" in p.title}
    combined = ids({"instrument": "isgri", "family": "image", "e1": 20, "e2": 80, "rev1": 500, "rev2": 2000,
                    "long_term": "false"})
    assert combined == {p.product_id for p in P if p.instrument.name == "isgri" and p.e1_kev >= 20
                        and p.e2_kev <= 80 and p.rev1 <= 2000 and p.rev2 >= 500 and p.span == 0}


@pytest.fixture
def linked_products(random_products):
    """The random products linked to 0–2 of 12 sources of four object types (one without), as posts link them."""
    rng = np.random.default_rng(11)
    otypes = ["LowMassXBin", "HighMassXBin", "Seyfert1", ""]
    sources = [create_source(f"Src {i}", float(rng.uniform(0, 360)), float(rng.uniform(-60, 60)), otypes[i % 4])
               for i in range(12)]
    linked = {}
    for p in random_products:
        chosen = [sources[j] for j in rng.choice(len(sources), size=int(rng.integers(0, 3)), replace=False)]
        p.sources.set(chosen, through_defaults=ProductSource.copied_columns(p))
        ProductSource.sync_object_types(p)
        linked[p.product_id] = chosen
    return random_products, linked


@pytest.mark.parametrize("id_set", [2000, 0])
def test_source_and_type_with_other_filters_match_brute_force(linked_products, monkeypatch, id_set):
    """Source or object type combined with the filters that links copy (kinds, revolutions, span,
    highlight), through the narrowed id set of links and through EXISTS (``ID_SET`` 0)."""
    monkeypatch.setattr(search, "ID_SET", id_set)
    products, linked = linked_products
    rng = np.random.default_rng(12)
    for _ in range(6):
        r1 = int(rng.integers(1, 2900))
        r2 = r1 + int(rng.choice([0, 30, 400, 2000]))
        for by, has in [({"object_type": "lowmassxbin"}, lambda p: any(s.object_type == "LowMassXBin"
                                                                        for s in linked[p.product_id])),
                        ({"source": "src 5"}, lambda p: any(s.name == "Src 5" for s in linked[p.product_id]))]:
            for more, keep in [({}, lambda p: True),
                               ({"instrument": "isgri", "family": "image"}, lambda p: p.instrument.name == "isgri"),
                               ({"instrument": "jemx"}, lambda p: p.instrument.name.startswith("jemx")),
                               ({"long_term": "true"}, lambda p: p.span > 0),
                               ({"highlight": "false"}, lambda p: not p.highlight)]:
                expected = {p.product_id for p in products if has(p) and keep(p) and p.rev1 <= r2 and p.rev2 >= r1}
                assert ids({**by, **more, "rev1": r1, "rev2": r2}) == expected, (by, more, r1, r2)
            inside = {p.product_id for p in products if has(p) and p.rev1 >= r1 and p.rev2 <= r2}
            assert ids({**by, "rev1": r1, "rev2": r2, "rev_mode": "inside"}) == inside


def test_sorting_and_paging_are_stable(random_products):
    seen = []
    for page in range(1, 8):
        result = search_products({"sort": "rev", "page": page, "page_size": 50})
        seen += [p.product_id for p in result.results]
    assert len(seen) == len(set(seen)) == 300
    revs = [Product.objects.get(product_id=i).rev1 for i in seen]
    assert revs == sorted(revs)
    newest = search_products({"page_size": 10}).results
    assert [p.t_start for p in newest] == sorted((p.t_start for p in random_products), reverse=True)[:10]
    titles = [p.title for p in search_products({"sort": "title", "page_size": 500}).results]
    assert titles == sorted(titles)


def test_total_is_capped(random_products, settings):
    settings.SKYGALLERY = {**settings.SKYGALLERY, "COUNT_CAP": 100}
    page = search_products({})
    assert (page.total, page.total_exact) == (100, False)
    page = search_products({"rev1": 1, "rev2": 3000})   # a selective filter: counted by reading the ids
    assert (page.total, page.total_exact, len(page.results)) == (100, False, 50)
    assert search_products({"rev1": 1, "rev2": 3000, "rev_mode": "inside", "long_term": "true"}).total == sum(
        1 for p in random_products if p.span > 0 and p.rev2 <= 3000)
    page = search_products({"instrument": "isgri", "long_term": "true"})
    assert page.total_exact and page.total == sum(1 for p in random_products
                                                   if p.instrument.name == "isgri" and p.span > 0)


def test_source_alias_and_object_type(db):
    post_light_curve("a", [{"name": "GX 1+4", "ra": 263.0126, "dec": -24.7456, "object_type": "LowMassXBin",
                 "aliases": ["4U 1728-24"]}])
    post_light_curve("b", [{"name": "Vela X-1", "ra": 135.5286, "dec": -40.5547, "object_type": "HighMassXBin"}])
    post_light_curve("c", ["GX 1+4", "Vela X-1"])
    assert ids({"source": "4u1728-24"}) == {"a", "c"}
    assert ids({"source": "  gx 1+4 "}) == {"a", "c"}
    assert ids({"source": "vela x 1"}) == set()  # '-' is significant in designations
    assert ids({"source": "VELA X-1"}) == {"b", "c"}
    assert ids({"object_type": "HighMassXBin"}) == {"b", "c"}
    assert ids({"source": "unknown"}) == set()


def test_source_pages_are_in_time_order(db):
    """A source's products, newest first or oldest first, page by page, whatever the plan."""
    post_light_curve("x0", [{"name": "GX 1+4", "ra": 263.0126, "dec": -24.7456, "object_type": "LowMassXBin"}])
    rng = np.random.default_rng(3)
    starts = {"x0": datetime(2022, 10, 27, 13, 1, 29, tzinfo=UTC)}
    for i in range(1, 40):
        t1 = T0 + timedelta(seconds=int(rng.integers(0, 7000 * 86400)))
        starts[f"x{i}"] = t1
        post_light_curve(f"x{i}", ["GX 1+4"] + (["Vela X-1"] if i % 3 == 0 else []), t1=t1.strftime("%Y-%m-%dT%H:%M:%S"),
              t2=(t1 + timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%S"), highlight=i % 5 == 0)
    newest = sorted(starts, key=lambda k: starts[k], reverse=True)
    got = [p.product_id for page in (1, 2, 3, 4) for p in
           search_products({"source": "gx 1+4", "page": page, "page_size": 10}).results]
    assert got == newest
    oldest = [p.product_id for p in search_products({"source": "GX1+4", "sort": "time", "page_size": 500}).results]
    assert oldest == newest[::-1]
    ends = {k: t + timedelta(hours=5) for k, t in starts.items()} | {"x0": datetime(2022, 10, 28, 3, 44, 53,
                                                                                 tzinfo=UTC)}

    def long_term(k):
        first, last = revolution_range(starts[k], ends[k])
        return last > first

    def highlight(k):
        return int(k[1:]) % 5 == 0 and k != "x0"

    for extra, keep in [({"instrument": "jemx1"}, lambda k: False), ({"instrument": "isgri"}, lambda k: True),
                        ({"highlight": "yes"}, highlight),
                        ({"highlight": "0", "long_term": "false"}, lambda k: not highlight(k) and not long_term(k)),
                        ({"long_term": "true"}, long_term), ({"family": "lightcurve"}, lambda k: True)]:
        page = search_products({"source": "GX 1+4", "page_size": 500, **extra})
        assert [p.product_id for p in page.results] == [k for k in newest if keep(k)] and page.total_exact
        assert page.total == len(page.results)
    hl = [p.product_id for p in search_products({"source": "GX 1+4", "highlight": "true", "rev1": 1,
                                                 "rev2": 2000}).results]
    assert hl == [k for k in newest if int(k[1:]) % 5 == 0 and k != "x0"
                  and revolution_range(starts[k], starts[k])[0] <= 2000]


@pytest.mark.parametrize("params, field", [
    ({"ra": "abc", "dec": 0, "radius": 1}, "ra"),
    ({"ra": 458, "dec": 0, "radius": 1}, "ra"),
    ({"ra": 10, "dec": 0}, "radius"),
    ({"ra": 10, "dec": 0, "radius": "ten"}, "radius"),
    ({"ra": 10, "dec": 0, "radius": 5, "radius_unit": "furlong"}, "radius_unit"),
    ({"e1": 40, "e2": 20}, "e2"),
    ({"t1": "2022-10-28"}, "t1"),
    ({"t1": "2022-10-28T10:00:00", "t2": "2022-10-27T10:00:00"}, "t2"),
    ({"rev1": 20, "rev2": 10}, "rev2"),
    ({"rev": "x"}, "rev"),
    ({"instrument": "chandra"}, "instrument"),
    ({"product_type": "hologram"}, "product_type"),
    ({"sort": "size"}, "sort"),
    ({"band_mode": "near"}, "band_mode"),
    ({"highlight": "maybe"}, "highlight"),
    ({"page_size": 100000}, "page_size"),
    ({"page": 0}, "page"),
])
def test_bad_query_strings_are_422(client, params, field):
    r = client.get("/api/v1/products", params)
    assert r.status_code == 422, r.content
    assert field in fields(r)


def test_api_search_response_shape(client, db):
    post_light_curve("x1", [{"name": "Crab", "ra": 83.6331, "dec": 22.0145}])
    body = client.get("/api/v1/products", {"source": "crab", "instrument": "isgri"}).json()
    assert body["total"] == 1 and body["total_exact"] and body["page"] == 1
    item = body["results"][0]
    assert item["product_id"] == "x1" and item["sources"] == ["Crab"] and item["url"] == "/products/x1/"
