"""The dispatcher's read endpoints with Django's test client, and the text fields' parsers."""
from __future__ import annotations

import pytest

from skygallery.compat.tables import parse_detected_sources, parse_parameters
from skygallery.gallery.errors import InvalidInput
from tests.compat.helpers import detections_html

URL = "/dispatch-data/"


def get(client, endpoint, **params):
    return client.get(URL + endpoint, params)


def fields_of(res) -> set[str]:
    return {".".join(d["loc"]) for d in res.json()["detail"]}


@pytest.fixture
def products(db):
    from skygallery.gallery.services.products import post_product
    base = {"instrument": "isgri", "e1_kev": 28, "e2_kev": 40, "create_sources": True}
    post_product({**base, "product_id": "img", "title": "Crab image", "product_type": "isgri_image",
                  "t1": "2022-10-28T05:52:20", "t2": "2022-10-28T13:07:26", "ra": 83.6, "dec": 22.0,
                  "sources": ["Crab"]})
    post_product({**base, "product_id": "lc", "title": "Cyg X-1 light curve", "product_type": "isgri_lc",
                  "t1": "2022-10-20T00:00:00", "t2": "2022-10-28T00:00:00", "sources": ["Cyg X-1"]})
    post_product({**base, "product_id": "jemx", "title": "JEM-X image", "product_type": "jemx_image",
                  "instrument": "jemx2", "e1_kev": 3, "e2_kev": 20, "t1": "2022-10-28T05:52:20",
                  "t2": "2022-10-28T13:07:26"})


def test_vocabularies(client, db):
    assert get(client, "get_list_terms", group="instruments").json() == ["isgri", "jemx1", "jemx2", "picsit", "spi",
                                                                         "spiacs"]
    assert get(client, "get_list_terms", group="products", parent="jemx1").json() == [
        "jemx_image", "jemx_lc", "jemx_spectrum", "other"]
    assert get(client, "get_list_terms", group="products", parent="lightcurve").json() == [
        "isgri_lc", "jemx_lc", "spi_acs_lc"]
    assert len(get(client, "get_list_terms", group="products").json()) == 9
    assert fields_of(get(client, "get_list_terms", group="planets")) == {"group"}
    assert get(client, "get_parents_term", term="isgri_lc", group="products").json() == ["lightcurve", "isgri"]
    assert get(client, "get_parents_term", term="jemx_image").json() == ["image", "jemx"]
    assert get(client, "get_parents_term", term="jemx1", group="instruments").json() == ["jemx"]
    assert get(client, "get_parents_term", term="aaaaaa", group="products").json() == []  # no policy applies
    assert fields_of(get(client, "get_parents_term")) == {"term"}


def test_product_lists(client, products):
    rows = get(client, "get_data_product_list_with_conditions", instrument_name="isgri").json()
    assert [r["product_id"] for r in rows] == ["lc", "img"]  # in time order
    lc, img = rows
    assert "ra" not in lc and (img["ra"], img["dec"]) == (83.6, 22.0)  # the client's separations need both
    assert not any(k.startswith("field_") or k in ("instrument", "product_name") for k in img)
    assert (img["instrumentused"], img["data_product_type"], img["describes_astro_entity"]) == (
        "isgri", "isgri_image", ["Crab"])
    assert lc["rev1"] < lc["rev2"] and lc["span_rev"] == lc["rev2"] - lc["rev1"]
    pick = lambda **p: [r["product_id"] for r in get(client, "get_data_product_list_with_conditions", **p).json()]  # noqa: E731
    assert pick(instrument_name="jemx") == ["jemx"]
    assert pick(src_name="Tau A") == ["img"] and pick(src_name="Tau A,Cyg X-1") == ["lc", "img"]
    assert pick(min_span_rev_value=1) == ["lc"] and pick(max_span_rev_value=0) == ["img", "jemx"]
    assert pick(e1_kev_value=20, e2_kev_value=35) == [] and pick(e1_kev_value=3, e2_kev_value=20) == ["jemx"]
    assert pick(rev1_value=2565, rev2_value=2565) == ["img", "jemx"]  # the long light curve is not inside
    assert pick(product_id="lc") == ["lc"] and pick(product_type="spectrum") == []
    bad = get(client, "get_data_product_list_with_conditions", e1_kev_value="soft", rev2_value="x", colour="red")
    assert bad.status_code == 422 and fields_of(bad) == {"colour"}
    bad = get(client, "get_data_product_list_with_conditions", e1_kev_value="soft", rev1_value=5, rev2_value=2)
    assert fields_of(bad) == {"e1_kev_value", "rev2_value"}
    assert [r["product_id"] for r in get(client, "get_data_product_list_by_source_name",
                                         src_name="cyg x-1").json()] == ["lc"]
    assert fields_of(get(client, "get_data_product_list_by_source_name")) == {"src_name"}


def test_sources_names_and_times(client, products):
    assert get(client, "get_all_astro_entities").json() == [
        {"title": "Crab", "ra": 83.633083, "dec": 22.0145}, {"title": "Cyg X-1", "ra": 299.590316, "dec": 35.201606}]
    info = get(client, "get_astro_entity_info_by_source_name", src_name="HD 226868").json()
    assert info["title"] == "Cyg X-1" and "V1357 Cyg" in info["alternative_names"]
    assert info["url"].endswith("/sources/Cyg%20X-1/")
    resolved = get(client, "resolve_name", name="Mrk_421").json()
    assert resolved["name"] == "Mrk 421" and resolved["message"] == "Mrk 421 successfully resolved"
    assert resolved["object_ids"][0] == "Mrk 421" and resolved["origin"] == "builtin"
    assert get(client, "resolve_name", name="fake object").json() == {
        "name": "fake object", "message": "fake object could not be resolved"}
    assert fields_of(get(client, "resolve_name")) == {"name"}
    assert get(client, "get_revnum", time_to_convert="2022-10-28T05:52:20.5").json()["revnum"] == 2565
    assert get(client, "get_revnum", time_to_convert="mjd:59880.2").json()["revnum"] == 2565
    for bad in ("2022-02-30T00:00:00", "1985-01-01T00:00:00"):
        res = get(client, "get_revnum", time_to_convert=bad)
        assert res.status_code == 422 and fields_of(res) == {"time_to_convert"}
    assert get(client, "get_all_revs").json()[:2] == ["rev. 2562", "rev. 2563"]
    missing = get(client, "get_observation_attachments", title="none")
    assert missing.status_code == 404 and missing.json()["error_message"] == "no observation titled 'none'"
    assert client.post(URL + "get_revnum").status_code == 405


def test_detected_sources_table():
    rows = parse_detected_sources(detections_html([("GX 1+4", "263.009", "-24.7456", "12.5", "0.3", "41.7"),
                                                   ("NEW_2", "267.1", "-27.2", "nan", "", "7.0")]))
    assert rows[0] == {"name": "GX 1+4", "ra": 263.009, "dec": -24.7456, "flux": 12.5, "flux_err": 0.3,
                       "significance": 41.7, "new_source": False}
    assert rows[1]["new_source"] and rows[1]["flux"] is None and rows[1]["flux_err"] is None
    flagged = "<table><tr><th>Source</th><th>RA_FIN</th><th>DEC_FIN</th><th>NEW_SOURCE</th></tr>" \
              "<tr><td>X&amp;Y</td><td>1</td><td>2</td><td>1</td></tr></table>"
    assert parse_detected_sources(flagged) == [{"name": "X&Y", "ra": 1.0, "dec": 2.0, "flux": None,
                                                "flux_err": None, "significance": None, "new_source": True}]
    assert parse_detected_sources("no table here") == []
    with pytest.raises(InvalidInput) as err:
        parse_detected_sources(detections_html([("A", "1", "inf", 1, 1, 1)]))
    assert err.value.errors[0][0] == "detected_sources[0].dec"


@pytest.mark.parametrize("text, expected", [
    ('parameters = {"src_name": "Crab", "T1": "2022-10-28T05:52:20"}',
     {"src_name": "Crab", "T1": "2022-10-28T05:52:20"}),
    ("parameters={'rev_num': 2565, 'flags': (1, 2), 'x': None}", {"rev_num": 2565, "flags": [1, 2], "x": None}),
    ('{"E1_keV": 28}', {"E1_keV": 28}),
])
def test_parameters(text, expected):
    assert parse_parameters(text) == expected


@pytest.mark.parametrize("text", ["parameters = [1, 2]", "parameters = {'x': float('nan')}",
                                  'parameters = {"x": NaN}', "parameters = {1: {2, 3}}", "free text"])
def test_bad_parameters(text):
    with pytest.raises(InvalidInput) as err:
        parse_parameters(text)
    assert err.value.errors[0][0] == "additional_information"
