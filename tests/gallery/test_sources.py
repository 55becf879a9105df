"""Sources: names and aliases, linking of posted names, merge, cone search, resolution."""
import pytest

from skygallery.gallery.errors import Conflict, InvalidInput
from skygallery.gallery.models import DetectedSource, Product, SourceName
from skygallery.gallery.services import sources as svc
from skygallery.gallery.services.products import post_product
from tests.conftest import SHARED_DATA, image_metadata, needs_shared_data
from tests.gallery.helpers import json_call

pytestmark = pytest.mark.django_db


def test_alias_keys_are_unique_across_names_and_aliases(db):
    crab = svc.create_source("Crab", 83.6331, 22.0145, "SNRemnant", ["Tau A", "M 1"])
    with pytest.raises(Conflict):
        svc.create_source("tau a", 1.0, 1.0)
    other = svc.create_source("Cyg X-1", 299.5903, 35.2016)
    with pytest.raises(Conflict):
        svc.add_alias(other, "M1")
    assert svc.get_source("m  1") == crab and svc.get_source("TAU-A".replace("-", " ")) == crab
    assert SourceName.objects.filter(source=crab).count() == 3


def test_rename_keeps_old_name_as_alias(db):
    src = svc.create_source("4U 1728-34", 262.989, -33.835, "LowMassXBin")
    svc.update_source(src, new_name="GX 354-0")
    src.refresh_from_db()
    assert src.name == "GX 354-0" and "4U 1728-34" in src.aliases
    assert svc.get_source("4u 1728-34") == src


def test_link_by_name_alias_position_and_catalog(db):
    crab = svc.create_source("Crab", 83.6331, 22.0145, "SNRemnant", ["Tau A"])
    assert svc.link_source({"name": "tau a"}, False, "s") == crab
    # a new name at the same position (< 1') becomes an alias
    assert svc.link_source({"name": "PSR B0531+21", "ra": 83.6332, "dec": 22.0146}, False, "s") == crab
    assert "PSR B0531+21" in svc.get_source("Crab").aliases
    # 2' away is another source: not linked without create
    with pytest.raises(InvalidInput):
        svc.link_source({"name": "Somewhere Else", "ra": 83.6331 + 2 / 60, "dec": 22.0145}, False, "s")
    # a catalog (built-in list) name needs create_sources, then takes the catalog's data
    with pytest.raises(InvalidInput) as err:
        svc.link_source({"name": "Cyg X-1"}, False, "sources.0")
    assert "create_sources" in str(err.value)
    cyg = svc.link_source({"name": "Cyg X-1"}, True, "s")
    assert cyg.object_type == "HighMassXBin" and abs(cyg.ra_deg - 299.59) < 0.01 and cyg.catalog_url
    # unknown name without coordinates cannot be created
    with pytest.raises(InvalidInput):
        svc.link_source({"name": "Mystery"}, True, "s")
    made = svc.link_source({"name": "IGR J99999+9999", "ra": 1.0, "dec": 2.0, "object_type": "X"}, True, "s")
    assert made.name == "IGR J99999+9999"


def test_merge_moves_names_products_and_detections(db):
    a = svc.create_source("GRS 1915+105", 288.7983, 10.9458, "LowMassXBin")
    b = svc.create_source("V1487 Aql", 288.7983, 10.9459)
    meta = dict(image_metadata(product_id="p1", sources=["GRS 1915+105", "V1487 Aql"], ra=288.8, dec=10.9),
                detected_sources=[{"name": "V1487 Aql", "ra": 288.79, "dec": 10.94}])
    post_product(meta)
    post_product(image_metadata(product_id="p2", sources=["V1487 Aql"]))
    svc.merge_sources(a, b)
    assert svc.get_source("v1487 aql") == a
    assert set(Product.objects.get(product_id="p1").sources.values_list("name", flat=True)) == {"GRS 1915+105"}
    assert list(Product.objects.get(product_id="p2").sources.values_list("name", flat=True)) == ["GRS 1915+105"]
    assert DetectedSource.objects.get(name="V1487 Aql").source == a
    with pytest.raises(InvalidInput):
        svc.merge_sources(a, a)


def test_sources_api_search_cone_and_types(client, contributor_token):
    for body in ({"name": "Crab", "ra": 83.6331, "dec": 22.0145, "object_type": "SNRemnant", "aliases": ["Tau A"]},
                 {"name": "Polaris X", "ra": 37.95, "dec": 89.26, "object_type": "Star"},
                 {"name": "Zero A", "ra": 359.9, "dec": 0.1, "object_type": "LowMassXBin"},
                 {"name": "Zero B", "ra": 0.1, "dec": -0.1, "object_type": "LowMassXBin"}):
        assert json_call(client, "post", "/api/v1/sources", contributor_token, body).status_code == 201
    names = lambda **q: [s["name"] for s in client.get("/api/v1/sources", q).json()["results"]]  # noqa: E731
    assert names(q="tau a") == ["Crab"]
    assert names(object_type="LowMassXBin") == ["Zero A", "Zero B"]
    assert names(ra=0.0, dec=0.0, radius=30, radius_unit="arcmin") == ["Zero A", "Zero B"]
    assert names(ra=200.0, dec=89.5, radius=1.3) == ["Polaris X"]  # 1.23 deg across the pole
    assert names(ra=200.0, dec=89.5, radius=1.2) == []
    assert names(sort="-ra")[0] == "Zero A"
    body = client.get("/api/v1/sources/TAU A").json()
    assert body["name"] == "Crab" and body["aliases"] == ["Tau A"] and body["n_products"] == 0
    r = client.get("/api/v1/sources", {"ra": 10, "dec": 0})
    assert r.status_code == 422
    assert client.get("/api/v1/sources/Nowhere").status_code == 404


def test_api_update_and_merge(client, contributor_token):
    json_call(client, "post", "/api/v1/sources", contributor_token, {"name": "A1", "ra": 10, "dec": 10})
    json_call(client, "post", "/api/v1/sources", contributor_token, {"name": "B1", "ra": 10, "dec": 10.001})
    r = json_call(client, "patch", "/api/v1/sources/A1", contributor_token,
                  {"aliases": ["A one"], "object_type": "Seyfert1", "ra": 10.5, "dec": 10.0})
    assert r.status_code == 200 and r.json()["aliases"] == ["A one"] and r.json()["ra"] == 10.5
    r = json_call(client, "patch", "/api/v1/sources/A1", contributor_token, {"ra": 458, "dec": 0})
    assert r.status_code == 422
    r = json_call(client, "post", "/api/v1/sources/A1/merge", contributor_token, {"source": "B1"})
    assert r.status_code == 200 and set(r.json()["aliases"]) == {"A one", "B1"}
    r = json_call(client, "post", "/api/v1/sources", contributor_token, {"name": "b1", "ra": 1, "dec": 1})
    assert r.status_code == 409


def test_create_from_offline_catalog(client, contributor_token):
    r = json_call(client, "post", "/api/v1/sources", contributor_token, {"name": "Sco X-1", "resolve": True})
    assert r.status_code == 201
    assert r.json()["object_type"] == "LowMassXBin" and abs(r.json()["dec"] + 15.64) < 0.01
    r = json_call(client, "post", "/api/v1/sources", contributor_token, {"name": "Not In Any Catalog", "resolve": True})
    assert r.status_code == 422


def test_resolve_endpoint_offline(client):
    body = client.get("/api/v1/sources/resolve", {"name": "crab"}).json()
    assert body["name"] == "Crab" and body["origin"] == "builtin" and not body["in_gallery"]
    assert client.get("/api/v1/sources/resolve", {"name": "No Such Object 123"}).status_code == 404


@needs_shared_data()
def test_resolve_through_configured_isdc_catalog(client, settings):
    settings.SKYGALLERY = {**settings.SKYGALLERY, "CATALOG": str(SHARED_DATA / "catalog" / "isdc_gnrl_refr_cat_0043")}
    body = client.get("/api/v1/sources/resolve", {"name": "4U 0115-73"}).json()
    assert body["name"] == "SMC X-1" and body["origin"] == "catalog" and body["object_type"] == "HighMassXBin"


def test_online_simbad_is_off_by_default(monkeypatch, db):
    from skygallery.gallery.services import resolver
    called = []
    monkeypatch.setattr(resolver, "_query_simbad", lambda name: called.append(name) or {})
    assert resolver.resolve("Some Faint Galaxy") is None and called == []


def test_online_simbad_when_enabled_is_cached(monkeypatch, settings, db):
    from skygallery.gallery.services import resolver
    settings.SKYGALLERY = {**settings.SKYGALLERY, "SIMBAD_ONLINE": True}
    calls = []

    def fake(name):
        calls.append(name)
        return {"name": "NGC 9999", "ra": 12.0, "dec": -3.0, "otype": "Seyfert2", "aliases": ["LEDA 1"]}
    monkeypatch.setattr(resolver, "_query_simbad", fake)
    first = resolver.resolve("ngc9999")
    second = resolver.resolve("NGC 9999")
    assert first.origin == "simbad" and first.object_type == "Seyfert2" and second.ra_deg == 12.0
    assert calls == ["ngc9999"]
