"""The unmodified oda_api client (oda-api 1.3.5) against a live SkyGallery: every gallery call it makes,
then the same products read back through /api/v1 and on the product page."""
from __future__ import annotations

import pytest
import requests

from skygallery.science import timesys
from tests.compat.helpers import DETECTIONS, HTML_ATTACHMENT, detections_html

pytestmark = pytest.mark.django_db(transaction=True, serialized_rollback=True)

IMAGE_ID, LC_ID, SPECTRUM_ID = "gc-isgri-2563", "crab-isgri-lc-2563", "crab-isgri-spectrum-2562-2564"
IMAGE_T = ("2022-10-22T05:10:00", "2022-10-23T18:00:00")  # revolution 2563
SPECTRUM_T = ("2022-10-20T00:00:00", "2022-10-25T00:00:00")  # revolutions 2562-2564 (long-term)
NEW_SOURCE = "IGR J17591-2342"  # in no catalog of the gallery: created from the detected-sources table


def _value(node: dict, field: str):
    return node[field][0]["value"]


def _relation(node: dict, field: str) -> list:
    return next(v for k, v in node["_links"].items() if k.endswith("/" + field))


def post_image(disp, token, files):
    return disp.post_data_product_to_gallery(
        product_title="Galactic Centre, ISGRI 28-40 keV, rev. 2563", product_id=IMAGE_ID, token=token,
        gallery_image_path=files["png"], fits_file_path=[files["mosaic"], files["mosaic_gz"], files["region"]],
        src_name=["GX 1+4", "Great Annihilator", NEW_SOURCE], insert_new_source=True, validate_source=True,
        force_insert_not_valid_new_source=True, instrument="isgri", product_type="isgri_image",
        e1_kev=28, e2_kev=40, RA=266.4, DEC=-28.9, T1=IMAGE_T[0], T2=IMAGE_T[1], obsid="0220001",
        detected_sources=detections_html(), produced_by="https://gitlab.example.org/integral/rev.ipynb",
        additional_information='parameters = {"rev_num": 2563, "E1_keV": 28.0, "E2_keV": 40.0}',
        html_image=HTML_ATTACHMENT, in_evidence=True)


def post_source_products(disp, token, files):
    lc = disp.post_data_product_to_gallery(
        product_title="Crab light curve, rev. 2563", product_id=LC_ID, token=token, src_name="Crab",
        insert_new_source=True, gallery_image_path=files["png"], fits_file_path=[files["lc"]], instrument="isgri",
        product_type="isgri_lc", e1_kev=30, e2_kev=80, T1="2022-10-22T06:00:00", T2="2022-10-22T20:00:00",
        time_bin=1000)
    spectrum = disp.post_data_product_to_gallery(
        product_title="Crab spectrum, revs. 2562-2564", product_id=SPECTRUM_ID, token=token, src_name="Crab",
        fits_file_path=[files["pha"], files["rmf"], files["arf"]], instrument="isgri",
        product_type="isgri_spectrum", e1_kev=20, e2_kev=200, T1=SPECTRUM_T[0], T2=SPECTRUM_T[1])
    return lc, spectrum


def check_first_image_post(res, base):
    assert _value(res, "title") == "Galactic Centre, ISGRI 28-40 keV, rev. 2563"
    assert _value(res, "field_version") == 1 and _value(res, "field_in_evidence") is True
    assert res["created"] == res["changed"]  # the client reports "posted", not "updated"
    assert res["_links"]["self"]["href"] == f"{base}/products/{IMAGE_ID}/"
    assert len(_relation(res, "field_describes_astro_entity")) == 3
    assert len(_relation(res, "field_fits_file")) == 3 and len(_relation(res, "field_image_png")) == 1
    assert (_value(res, "field_rev1"), _value(res, "field_span_rev")) == (2563, 0)


def check_queries(disp, token):
    ids = lambda rows: [r["product_id"] for r in rows]  # noqa: E731
    found = disp.get_list_products_with_conditions(
        token=token, instrument_name="isgri", product_type="isgri_image", e1_kev_value=20, e2_kev_value=50,
        rev1_value=2563, rev2_value=2563, min_span_rev_value=0, max_span_rev_value=0, src_name="Great Annihilator")
    assert ids(found) == [IMAGE_ID]
    assert disp.get_list_products_with_conditions(token=token, instrument_name="jemx", rev1_value=2500,
                                                  rev2_value=2600) == []
    assert disp.get_list_products_with_conditions(token=token, product_type="image", e1_kev_value=30) == []
    near = disp.get_list_images_angular_distance(token=token, instrument="isgri", e1_kev=20, e2_kev=50,
                                                 t1=SPECTRUM_T[0], t2=SPECTRUM_T[1], ra_ref=266.0, dec_ref=-29.0, r=3)
    assert ids(near) == [IMAGE_ID]
    assert disp.get_list_images_angular_distance(token=token, instrument="isgri", e1_kev=20, e2_kev=50,
                                                 t1=SPECTRUM_T[0], t2=SPECTRUM_T[1], ra_ref=83.6, dec_ref=22.0,
                                                 r=3) == []
    lcs = disp.get_list_lightcurve_with_conditions(token=token, instrument="isgri", source_name="Tau A",
                                                   e1_kev=20, e2_kev=100, t1=SPECTRUM_T[0], t2=SPECTRUM_T[1])
    assert ids(lcs) == [LC_ID]
    spectra = disp.get_list_spectra_with_conditions(token=token, source_name="Crab", t1=SPECTRUM_T[0],
                                                    t2=SPECTRUM_T[1])
    assert ids(spectra) == [SPECTRUM_ID] and spectra[0]["span_rev"] == 2
    by_name = disp.get_list_products_by_source_name(source_name="1E 1740.7-2942", token=token)
    assert by_name == disp.get_list_products_by_source_name(source_name="Great Annihilator", token=token)
    assert ids(by_name) == [IMAGE_ID]


def check_names_and_times(disp, token):
    resolved = disp.resolve_source(src_name="Great Annihilator", token=token)
    assert "successfully resolved" in resolved["message"] and resolved["resolved_name"] == "1E 1740.7-2942"
    assert (round(resolved["RA"], 3), round(resolved["DEC"], 3)) == (265.978, -29.745)
    assert "could not be resolved" in disp.resolve_source(src_name="No Such Object 42", token=token)["message"]
    table = timesys.default_table()
    for t in ("2022-10-28T05:52:20.5", "2022-10-24T17:51:23.9", IMAGE_T[0]):  # fractional seconds work
        assert disp.get_revnum(t, token) == table.revolution_of(timesys.parse_time(t))
    assert disp.get_revnum("2022-10-24T17:51:22", token) == 2563  # UTC, not local time: 1 s before 2564


def check_observation(disp, token, files):
    res = disp.post_observation_to_gallery(observation_title="rev. 2563 observations", T1=IMAGE_T[0],
                                           T2=IMAGE_T[1], obsid=["0220001", "0220002"],
                                           yaml_file_path=[files["yaml1"], files["yaml2"]], token=token)
    assert _value(res, "title") == "rev. 2563 observations" and len(_relation(res, "field_attachments")) == 2
    assert [o["value"] for o in res["field_obsid"]] == ["0220001", "0220002"]
    got = disp.get_yaml_files_observation_with_title(observation_title="rev. 2563 observations", token=token)
    for name in ("yaml1", "yaml2"):
        assert open(files[name]).read().strip() in got["file_content"]
    assert len(got["file_path"]) == 2
    res = disp.update_observation_with_title(observation_title="rev. 2563 observations", obsid=[220003],
                                             token=token)
    assert [o["value"] for o in res["field_obsid"]] == ["220003"] and len(_relation(res, "field_attachments")) == 2
    res = disp.update_observation_with_title(observation_title="rev. 2564 (new)", T1="2022-10-25T00:00:00",
                                             T2="2022-10-26T00:00:00", create_new=True, token=token)
    assert _value(res, "field_rev1") == 2564


def check_sources(disp, token):
    res = disp.update_source_with_name(source_name=NEW_SOURCE, object_type="HighMassXBin",
                                       object_ids=["AX J1759.0-2343", "XMM J175904-234311"], token=token)
    assert _value(res, "title") == NEW_SOURCE and _value(res, "field_object_type") == "HighMassXBin"
    assert [a["value"] for a in res["field_alternative_names"]] == ["AX J1759.0-2343", "XMM J175904-234311"]
    assert round(_value(res, "field_source_ra"), 3) == 269.762  # from the detected-sources table
    res = disp.update_source_with_name(source_name="Crab", source_dec=10.0, token=token)
    assert _value(res, "field_source_dec") == 10.0 and round(_value(res, "field_source_ra"), 2) == 83.63
    res = disp.update_source_with_name(source_name="Tau A", auto_update=True, token=token)
    assert _value(res, "title") == "Crab" and round(_value(res, "field_source_dec"), 3) == 22.015


def check_api_v1(base):
    image = requests.get(f"{base}/api/v1/products/{IMAGE_ID}").json()
    assert image["version"] == 2 and image["title"] == "GC field, rev. 2563 (v2)" and image["highlight"] is False
    assert sorted(f["role"] for f in image["files"]) == ["fits", "fits", "html-attachment", "preview", "region"]
    assert {d["name"]: (d["source"], d["new_source"]) for d in image["detected_sources"]} == {
        "GX 1+4": ("GX 1+4", False), "1E 1740.7-2942": ("1E 1740.7-2942", False),
        NEW_SOURCE: (NEW_SOURCE, False), "NEW_1": (None, True)}
    assert sorted(image["sources"]) == sorted(["GX 1+4", "1E 1740.7-2942", NEW_SOURCE])
    assert image["provenance"]["parameters"] == {"rev_num": 2563, "E1_keV": 28.0, "E2_keV": 40.0}
    assert image["provenance"]["notebook"] == "https://gitlab.example.org/integral/rev.ipynb"
    assert image["observation"] == "observation_2022-10-22T05:10:00_2022-10-23T18:00:00"
    assert (image["rev1"], image["rev2"], image["ra"], image["dec"]) == (2563, 2563, 266.4, -28.9)
    first = requests.get(f"{base}/api/v1/products/{IMAGE_ID}/versions/1").json()
    assert first["highlight"] is True and len(first["files"]) == 5
    assert {f["sha256"] for f in first["files"] if f["role"] != "preview"} == \
        {f["sha256"] for f in image["files"] if f["role"] != "preview"}
    spectrum = requests.get(f"{base}/api/v1/products/{SPECTRUM_ID}").json()
    assert sorted(f["role"] for f in spectrum["files"]) == ["arf", "fits", "preview", "rmf"]  # preview drawn here
    assert (spectrum["rev1"], spectrum["rev2"], spectrum["span"]) == (2562, 2564, 2)
    assert requests.get(f"{base}/api/v1/products/{LC_ID}").status_code == 404
    found = requests.get(f"{base}/api/v1/products", params={"source": "Tau A"}).json()["results"]
    assert [p["product_id"] for p in found] == [SPECTRUM_ID]
    new = requests.get(f"{base}/api/v1/sources/{NEW_SOURCE}").json()
    assert new["object_type"] == "HighMassXBin" and round(new["dec"], 3) == -23.719


def check_product_page(base):
    page = requests.get(f"{base}/products/{IMAGE_ID}/")
    assert page.status_code == 200
    html = page.text
    assert "GC field, rev. 2563 (v2)" in html and "significance.fits" in html  # our own JS9 viewer
    assert all(name in html for name, *_ in DETECTIONS)
    assert "additional_html_file_" in html  # the client's HTML page: listed for download only
    assert "SKYGALLERY_XSS" not in html and "JS9 page" not in html
    attachment = next(f for f in requests.get(f"{base}/api/v1/products/{IMAGE_ID}").json()["files"]
                      if f["role"] == "html-attachment")
    download = requests.get(base + attachment["url"])
    assert download.text == HTML_ATTACHMENT and download.headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in download.headers["Content-Security-Policy"]


def test_oda_api_client_round_trip(disp, live_server, contributor_jwt, files, statuses):
    base, token = live_server.url, contributor_jwt
    check_first_image_post(post_image(disp, token, files), base)
    lc, spectrum = post_source_products(disp, token, files)
    assert _value(lc, "field_time_bin") == 1000.0 and _value(spectrum, "field_span_rev") == 2
    update = disp.post_data_product_to_gallery(product_id=IMAGE_ID, product_title="GC field, rev. 2563 (v2)",
                                               gallery_image_path=files["png2"], token=token)
    assert _value(update, "field_version") == 2 and len(_relation(update, "field_fits_file")) == 3
    assert update["nid"] == check_nid(base)
    check_queries(disp, token)
    check_names_and_times(disp, token)
    check_observation(disp, token, files)
    check_sources(disp, token)
    assert disp.delete_data_product_from_gallery_via_product_id(product_id=LC_ID, token=token) == {}
    assert disp.get_list_products_by_source_name(source_name="Crab", token=token)[0]["product_id"] == SPECTRUM_ID
    assert len(statuses) > 40 and all(status == 200 for _, _, status in statuses), statuses  # every client call
    check_api_v1(base)
    check_product_page(base)


def check_nid(base):
    rows = requests.get(f"{base}/dispatch-data/get_data_product_list_with_conditions",
                        params={"product_id": IMAGE_ID}).json()
    return [{"value": rows[0]["nid"]}]
