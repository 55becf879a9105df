"""The dispatcher's write endpoints with Django's test client: the form as oda_api sends it, what lands in
the model, the errors (4xx naming the client's field, nothing written) and the update rules."""
from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.compat.helpers import detections_html
from tests.conftest import REGION_TEXT, fits_image_bytes, png_bytes

pytestmark = pytest.mark.django_db
URL = "/dispatch-data/"


@pytest.fixture
def post(client, contributor_jwt):
    def send(endpoint, data, files=None, token=contributor_jwt):
        body = {**data, **({"token": token} if token else {})}
        for field, (name, content) in (files or {}).items():
            body[field] = SimpleUploadedFile(name, content)
        return client.post(URL + endpoint, body)
    return send


def image_form(**over):
    data = {"content_type": "data_product", "product_title": "Crab rev. 2565", "product_id": "crab-2565",
            "insert_new_source": "True", "instrument": "isgri", "product_type": "isgri_image", "src_name": "Crab",
            "e1_kev": "28", "e2_kev": "40", "RA": "83.63", "DEC": "22.01", "T1": "2022-10-28T05:52:20",
            "T2": "2022-10-28T13:07:26", "in_evidence": "0"}
    data.update(over)
    return {k: v for k, v in data.items() if v is not None}


def counts():
    from skygallery.gallery.models import Observation, Product, ProductFile, Source
    return Product.objects.count(), Observation.objects.count(), Source.objects.count(), ProductFile.objects.count()


def stored():
    from skygallery.gallery.services.filestore import FileStore
    return set(FileStore().stored_digests())


def fields_of(res) -> set[str]:
    return {".".join(d["loc"]) for d in res.json()["detail"]}


@pytest.mark.parametrize("over, files, field", [
    ({"RA": "458"}, {}, "RA"),
    ({"colour": "blue"}, {}, "colour"),
    ({"T1": "2022-13-28T05:52:20"}, {}, "T1"),
    ({"e1_kev": "50"}, {}, "e2_kev"),
    ({"e1_kev": "soft"}, {}, "e1_kev"),
    ({"instrument": None}, {}, "instrument"),
    ({"product_type": "isgri_lc", "src_name": None}, {}, "src_name"),
    ({"observation_id": "no such observation"}, {}, "observation_id"),
    ({"additional_information": "parameters = {rev: 2565"}, {}, "additional_information"),
    ({"detected_sources": "<table><tr><th>Name</th><th>Flux</th></tr></table>"}, {}, "detected_sources"),
    ({"detected_sources": detections_html([("Crab", "83.6", "north", 1, 1, 1)])}, {}, "detected_sources[0].dec"),
    ({"src_name": "No Such Source", "insert_new_source": "False"}, {}, "src_name[0].name"),
    ({}, {"fits_file_0": ("mosaic.fits", b"SIMPLE  = not really FITS")}, "fits_file"),
    ({}, {"img": ("preview.png", b"GIF? no")}, "img"),
    ({}, {"thumbnail": ("t.png", png_bytes())}, "thumbnail"),
    ({"content_type": "article"}, {}, "content_type"),
])
def test_bad_input_names_the_field_and_writes_nothing(post, over, files, field):
    before, files_before = counts(), stored()
    res = post("post_product_to_gallery", image_form(**over), {"fits_file_1": ("m.fits", fits_image_bytes()), **files})
    assert 400 <= res.status_code < 500 and field in fields_of(res), res.json()
    assert field in res.json()["error_message"]
    assert counts() == before and stored() == files_before  # no observation, source, product or file


def test_fractional_seconds_and_observations_matched_on_times_to_the_second(post):
    from skygallery.gallery.models import Observation, Product
    assert post("post_product_to_gallery", image_form(T1="2022-10-28T05:52:20.25", obsid="0240001")).status_code == 200
    assert post("post_product_to_gallery", image_form(product_id="b", T1="2022-10-28T05:52:20.75",
                                                      T2="2022-10-28T13:07:26.9", obsid="0240002")).status_code == 200
    assert post("post_product_to_gallery", image_form(product_id="c", T1="2022-10-28T05:52:21")).status_code == 200
    a, b, c = (Product.objects.get(product_id=p) for p in ("crab-2565", "b", "c"))
    assert a.t_start.microsecond == 250000 and b.t_start.microsecond == 750000
    assert a.observation_id == b.observation_id != c.observation_id
    assert a.observation.title == "observation_2022-10-28T05:52:20_2022-10-28T13:07:26"
    assert a.observation.obsids == ["0240001", "0240002"]
    assert Observation.objects.count() == 2 and (a.rev1, a.span) == (2565, 0)


def test_everything_posted_lands_in_the_model(post):
    from skygallery.gallery.models import Product
    table = detections_html([("Crab", 83.633, 22.014, 10.5, 0.2, 50.1), ("NEW_3", 84.1, 21.5, "nan", "", 6.2)])
    form = image_form(src_name="Crab,New Transient J0536+2150", detected_sources=table, in_evidence="1",
                      produced_by="https://example.org/nb.ipynb", job_id="j-42", time_bin="60",
                      additional_information="parameters = {'E1_keV': 28.0, 'src_name': 'Crab', 'flag': None}")
    form["detected_sources"] = table.replace("Crab</td><td>83.633", "New Transient J0536+2150</td><td>84.1", 1)
    files = {"img": ("p.png", png_bytes()), "fits_file_0": ("m.fits.gz", fits_image_bytes(gz=True)),
             "fits_file_1": ("src.reg", REGION_TEXT.encode()), "yaml_file_0": ("obs.yaml", b"- a: 1\n"),
             "html_file": ("page.html", b"<script>alert(1)</script>")}
    res = post("post_product_to_gallery", form, files)
    assert res.status_code == 200, res.json()
    p = Product.objects.get(product_id="crab-2565")
    assert p.highlight and p.notebook == "https://example.org/nb.ipynb" and p.job_id == "j-42" and p.time_bin_s == 60
    assert p.parameters == {"E1_keV": 28.0, "src_name": "Crab", "flag": None}
    assert sorted(s.name for s in p.sources.all()) == ["Crab", "New Transient J0536+2150"]
    new = p.sources.get(name="New Transient J0536+2150")
    assert (new.ra_deg, new.dec_deg) == (84.1, 22.014)  # its row of the detected-sources table
    version = p.current_version()
    assert sorted(f.role for f in version.files.all()) == ["fits", "html-attachment", "preview", "region", "yaml"]
    rows = {d.name: d for d in version.detected_sources.all()}
    assert rows["NEW_3"].is_new and rows["NEW_3"].flux is None and rows["NEW_3"].significance == 6.2


def test_update_by_product_id_keeps_what_is_not_sent(post):
    from skygallery.gallery.models import Product
    table = detections_html([("Crab", 83.633, 22.014, 10.5, 0.2, 50.1)])
    files = {"img": ("p.png", png_bytes()), "fits_file_0": ("m.fits", fits_image_bytes())}
    assert post("post_product_to_gallery", image_form(detected_sources=table, job_id="j1"), files).status_code == 200
    res = post("post_product_to_gallery", {"product_id": "crab-2565", "in_evidence": "1"})
    assert res.status_code == 200 and res.json()["field_version"] == [{"value": 2}]
    p = Product.objects.get(product_id="crab-2565")
    v1, v2 = p.versions.get(number=1), p.versions.get(number=2)
    same = lambda v: sorted((f.role, f.sha256) for f in v.files.all())  # noqa: E731
    assert same(v1) == same(v2) and v2.detected_sources.count() == 1
    assert p.highlight and p.title == "Crab rev. 2565" and (p.e1_kev, p.job_id, p.ra_deg) == (28, "j1", 83.63)
    res = post("post_product_to_gallery", {"product_id": "crab-2565", "e1_kev": "30"},
               {"fits_file_0": ("m2.fits", fits_image_bytes(value=3.0))})
    p.refresh_from_db()
    v3 = p.versions.get(number=3)
    previews = {v.number: v.files.get(role="preview").sha256 for v in (v2, v3)}
    assert previews[2] != previews[3]  # the old preview showed the old FITS: a new one is drawn
    assert v3.detected_sources.count() == 0 and p.e1_kev == 30 and p.highlight  # in_evidence not sent: kept


def test_observations_create_update_and_create_new(post, client):
    yaml = {"yaml_file_0": ("a.yaml", b"- obsid: '1'\n"), "yaml_file_1": ("b.yaml", b"- obsid: '2'\n")}
    form = {"title": "rev. 2565", "T1": "2022-10-28T05:52:20.5", "T2": "2022-10-28T13:07:26", "obsid": "1,2"}
    res = post("post_observation_to_gallery", form, yaml)
    assert res.status_code == 200 and res.json()["field_obsid"] == [{"value": "1"}, {"value": "2"}]
    assert post("post_observation_to_gallery", form).status_code == 422  # a plain post does not overwrite
    res = post("post_observation_to_gallery", {"title": "rev. 2565", "update_observation": "True", "obsid": "3"},
               {"yaml_file": ("c.yaml", b"- obsid: '3'\n")})
    assert res.json()["field_obsid"] == [{"value": "3"}] and len(res.json()["field_attachments"]) == 1
    assert res.json()["field_timerange"] == [{"value": "2022-10-28T05:52:20", "end_value": "2022-10-28T13:07:26"}]
    missing = post("post_observation_to_gallery", {"title": "rev. 9", "update_observation": "True"})
    assert missing.status_code == 404 and "create_new" in missing.json()["error_message"]
    bad = post("post_observation_to_gallery", {"title": "x", "update_observation": "True", "create_new": "True",
                                               "T1": "2022-10-28T05:52:20"})
    assert bad.status_code == 422 and fields_of(bad) == {"T2"}
    got = client.get(URL + "get_observation_attachments", {"title": "rev. 2565"}).json()
    assert got["file_content"] == "- obsid: '3'\n" and got["files"][0]["name"] == "c.yaml"


def test_astro_entities_keep_aliases_whole(post, client):
    from skygallery.gallery.models import Source
    res = post("post_astro_entity_to_gallery", {"src_name": "SGR J1935+2154", "source_ra": "293.73",
                                                "source_dec": "21.90", "object_type": "Magnetar",
                                                "object_ids": ["FRB 200428, its radio burst", "Swift J1935+2154"]})
    assert res.status_code == 200
    s = Source.objects.get(name="SGR J1935+2154")
    assert sorted(s.aliases) == ["FRB 200428, its radio burst", "Swift J1935+2154"]
    again = post("post_astro_entity_to_gallery", {"src_name": "Swift J1935+2154", "source_dec": "22.0"})
    assert again.status_code == 409  # exists: an update needs update_astro_entity
    product = image_form(src_name="FRB 200428, its radio burst", insert_new_source="False")
    assert post("post_product_to_gallery", product).status_code == 200  # a name with a comma is not cut
    info = client.get(URL + "get_astro_entity_info_by_source_name", {"src_name": "swift j1935+2154"}).json()
    assert info["title"] == "SGR J1935+2154" and info["alternative_names"] == sorted(s.aliases)
    assert client.get(URL + "get_astro_entity_info_by_source_name", {"src_name": "nothing"}).json() == {}
    res = post("post_astro_entity_to_gallery", {"src_name": "Unknown Thing", "auto_update": "True"})
    assert res.status_code == 422 and fields_of(res) == {"src_name"}
    res = post("post_astro_entity_to_gallery", {"src_name": "Half Placed", "source_dec": "12"})
    assert res.status_code == 422 and fields_of(res) == {"source_ra"}


def test_processing_logs(post, client):
    from skygallery.gallery.models import ProcessingLog
    res = post("post_revolution_processing_log_to_gallery", {"revolution_number": "2565", "sbatch_job_id": "81234",
                                                             "log": "done in 3 h", "type": "success"})
    assert res.status_code == 200 and res.json()["title"] == [{"value": "rev. 2565 success"}]
    log = ProcessingLog.objects.get()
    assert (log.revolution_id, log.job_id, log.text, log.status) == (2565, "81234", "done in 3 h", "success")
    bad = post("post_revolution_processing_log_to_gallery", {"revolution_number": "2565", "type": "meh"})
    assert bad.status_code == 422 and fields_of(bad) == {"type"}
    assert client.get(URL + "get_all_revs").json() == ["rev. 2565"]


def test_delete(post):
    assert post("post_product_to_gallery", image_form()).status_code == 200
    assert post("delete_product_to_gallery", {"product_id": "nope"}).status_code == 404
    assert post("delete_product_to_gallery", {"product_id": "crab-2565"}).json() == {}
    assert post("delete_product_to_gallery", {}).status_code == 422
