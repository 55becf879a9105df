"""Observations with attached files, revolutions and processing logs."""
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from skygallery.gallery.models import Observation, Revolution
from tests.conftest import image_metadata
from tests.gallery.helpers import auth, json_call, post_product

pytestmark = pytest.mark.django_db

YAML = b"- title: Crab\n  obsid: ['1960001']\n  scw_list: ['256500300010.000']\n"


def post_obs(client, token, meta, files=(), **query):
    data = {"metadata": json.dumps(meta)}
    if files:
        data["yaml"] = [SimpleUploadedFile(n, c) for n, c in files]
    url = "/api/v1/observations" + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")
    return client.post(url, data, **auth(token))


META = {"title": "Crab Rev. 2565", "t1": "2022-10-28T05:52:20", "t2": "2022-10-28T13:07:26",
        "obsids": ["1960001"], "pi": "Calibration", "proposal_title": "Crab calibration",
        "scw_list": ["256500300010.000", "256500310010.000"]}


def test_create_update_and_files(client, contributor_token):
    r = post_obs(client, contributor_token, META, [("obs_rev_2565.yaml", YAML), ("extra.yaml", b"a: 1\n")])
    assert r.status_code == 201, r.content
    body = r.json()
    assert (body["rev1"], body["rev2"], body["span"], body["n_scw"]) == (2565, 2565, 0, 2)
    assert [f["name"] for f in body["files"]] == ["obs_rev_2565.yaml", "extra.yaml"]
    download = client.get(body["files"][0]["url"])
    assert b"".join(download.streaming_content) == YAML and download["Content-Type"] == "application/yaml"
    r = post_obs(client, contributor_token, {**META, "pi": "New PI"})
    assert r.status_code == 200 and r.json()["pi"] == "New PI" and len(r.json()["files"]) == 2
    r = post_obs(client, contributor_token, META, update="false")
    assert r.status_code == 422
    r = post_obs(client, contributor_token, META, [("only.yaml", b"b: 2\n")], replace_files="true")
    assert [f["name"] for f in r.json()["files"]] == ["only.yaml"]
    assert Observation.objects.count() == 1


def test_products_link_to_observations_and_revolution_pages(client, contributor_token):
    post_obs(client, contributor_token, META)
    r = post_product(client, contributor_token, image_metadata(observation="Crab Rev. 2565"))
    assert r.json()["observation"] == "Crab Rev. 2565"
    rev = client.get("/api/v1/revolutions/2565").json()
    assert rev["data_status"] == "NRT" and [o["title"] for o in rev["observations"]] == ["Crab Rev. 2565"]
    assert rev["start"].startswith("2022-10-27") and rev["end"] > rev["start"]
    post_product(client, contributor_token, image_metadata(product_id="cons", data_version="CONS"))
    assert client.get("/api/v1/revolutions/2565").json()["data_status"] == "CONS"
    # a later NRT product does not downgrade the revolution
    post_product(client, contributor_token, image_metadata(product_id="nrt2"))
    assert Revolution.objects.get(number=2565).data_status == "CONS"


def test_processing_logs(client, contributor_token):
    for status in ("running", "failure", "success"):
        r = json_call(client, "post", "/api/v1/processing-logs", contributor_token,
                      {"revolution": 2564, "job_id": f"job-{status}", "status": status, "text": f"{status} log"})
        assert r.status_code == 201
    logs = client.get("/api/v1/processing-logs", {"revolution": 2564}).json()
    assert [l["status"] for l in logs] == ["success", "failure", "running"]
    assert client.get("/api/v1/revolutions/2564").json()["processing_status"] == "success"
    assert len(client.get("/api/v1/processing-logs", {"status": "failure"}).json()) == 1


def test_revolution_status_and_listing(client, contributor_token):
    r = json_call(client, "put", "/api/v1/revolutions/2563", contributor_token, {"data_status": "CONS"})
    assert r.status_code == 200 and r.json()["data_status"] == "CONS"
    listed = client.get("/api/v1/revolutions", {"data_status": "CONS"}).json()
    assert [x["number"] for x in listed] == [2563]
    assert client.get("/api/v1/revolutions/0").status_code == 422
    r = json_call(client, "put", "/api/v1/revolutions/2563", contributor_token, {"data_status": "FINAL"})
    assert r.status_code == 422


def test_vocabularies(client):
    names = {i["name"] for i in client.get("/api/v1/instruments").json()}
    assert {"isgri", "jemx1", "jemx2", "spiacs"} <= names
    types = {t["name"]: t for t in client.get("/api/v1/product-types").json()}
    assert types["isgri_image"]["parents"] == ["image", "isgri"]
    assert types["jemx_lc"]["parents"] == ["lightcurve", "jemx"]
    assert {t["name"] for t in client.get("/api/v1/product-types", {"family": "spectrum"}).json()} >= {
        "isgri_spectrum", "jemx_spectrum"}


def test_openapi_describes_every_operation(client):
    schema = client.get("/api/v1/openapi.json").json()
    ops = {(m.upper(), p) for p, item in schema["paths"].items() for m in item}
    for op in [("GET", "/api/v1/products"), ("POST", "/api/v1/products"), ("DELETE", "/api/v1/products/{product_id}"),
               ("GET", "/api/v1/products/{product_id}/versions"), ("GET", "/api/v1/products/{product_id}/files/{file_id}"),
               ("POST", "/api/v1/sources/{name}/merge"), ("PATCH", "/api/v1/sources/{name}"),
               ("GET", "/api/v1/sources/resolve"), ("POST", "/api/v1/observations"),
               ("GET", "/api/v1/revolutions/{number}"), ("POST", "/api/v1/processing-logs"), ("POST", "/api/v1/tokens")]:
        assert op in ops, op
    assert all(item[m].get("summary") for item in schema["paths"].values() for m in item)
    assert client.get("/api/v1/docs").status_code == 200
    assert client.get("/api/docs", follow=True).status_code == 200
