"""The sample gallery: loads through the services, is served by the API, files follow OSA/OGIP, loads idempotently."""
import gzip
import io
import warnings
from urllib.parse import quote

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from skygallery.client.sample import CONS_REPOST, OBSERVATIONS, SOURCES, load_sample
from tests.conftest import SHARED_DATA, needs_shared_data

pytestmark = pytest.mark.django_db

EXTNAMES = {"isgri": "ISGR-MOSA-IMA", "jemx1": "JMX1-MOSA-IMA", "jemx2": "JMX2-MOSA-IMA"}
REAL_MOSAIC = {"4U 1700-377": 135, "OAO 1657-415": 44, "GX 349+2": 31, "GX 354-0": 24, "1E 1740.7-2942": 14}


def product(client, product_id: str) -> dict:
    r = client.get(f"/api/v1/products/{quote(product_id, safe='')}")
    assert r.status_code == 200, r.content
    return r.json()


def download(client, meta: dict, role: str, index: int = 0) -> bytes:
    f = [f for f in meta["files"] if f["role"] == role][index]
    r = client.get(f["url"])
    assert r.status_code == 200
    return b"".join(r.streaming_content)


def search(client, **params) -> list[dict]:
    r = client.get("/api/v1/products", {"page_size": 500, **params})
    assert r.status_code == 200, r.content
    return r.json()["results"]


def open_fits(data: bytes) -> fits.HDUList:
    return fits.open(io.BytesIO(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data))


def test_sample_loads_and_the_api_serves_it(client):
    summary = load_sample()
    assert summary["observations"] == 6 and summary["processing_logs"] == 3
    assert summary["products_by_type"] == {"isgri_image": 6, "isgri_lc": 5, "isgri_spectrum": 4, "jemx_image": 8,
                                           "jemx_lc": 2}
    assert summary["sources"] >= 15 and summary["planned_versions"] == summary["products"] + 1
    images = search(client, instrument="isgri", family="image")
    assert len(images) == 6 and all(p["instrument"] == "isgri" and p["family"] == "image" for p in images)
    assert {"Orion_1 Rev. 2563 (NRT)", "GRS 1915+105 Rev. 2564 (NRT)", "Crab Rev. 2565"} <= {p["title"] for p in images}
    by_alias = search(client, source="Sgr X-7")  # alias of 3A 1822-371
    assert len(by_alias) == 3 and all("3A 1822-371" in p["sources"] for p in by_alias)
    assert {p["product_type"] for p in search(client, source="tau a")} == {"isgri_image", "jemx_image", "isgri_lc",
                                                                           "isgri_spectrum"}
    rev = search(client, rev=2565)
    assert all(p["rev1"] <= 2565 <= p["rev2"] for p in rev)
    assert {"sample-isgri-image-galactic-center-2565", "sample-isgri-lc-crab-2563-2565"} <= {
        p["product_id"] for p in rev}
    assert len(search(client, rev=2564, family="image")) == 6
    observations = client.get("/api/v1/observations", {"rev1": 2564, "rev2": 2564}).json()
    assert [o["title"] for o in observations] == ["GRS 1915+105 Rev. 2564", "Orion_1 Rev. 2564",
                                                  "Gal. Plane, l= 264 Rev. 2564"]
    assert all(o["files"][0]["name"] == "obs_rev_2564.yaml" and o["n_scw"] >= 7 for o in observations)
    assert all(1800 <= _scw_seconds(o) <= 3600 for o in observations)
    assert client.get("/api/v1/revolutions/2565").json()["processing_status"] == "success"
    check_revolution_yaml(client)
    check_cons_repost(client)


def check_revolution_yaml(client):
    """The YAML attached to the observations follows MMODA's obs_rev_<rev>.yaml."""
    import yaml
    obs = client.get("/api/v1/observations", {"title": "Galactic Center"}).json()[0]
    doc = yaml.safe_load(client.get(obs["files"][0]["url"]).getvalue())
    entry = next(e for e in doc if e["title"] == "Galactic Center")
    assert entry["obsid"] == 19200140001.0 and len(entry["scw_list"]) == obs["n_scw"]
    assert {"isgri_fluxed_catalog", "isgri_source_catalog", "jemx1_gallery_object", "jemx2_fluxed_catalog"} <= set(
        entry)
    names = entry["isgri_fluxed_catalog"]["src_names"]
    assert "1E 1740.7-2942" in names.values() and entry["isgri_fluxed_catalog"]["NEW_SOURCE"][
        next(k for k, v in names.items() if v == "NEW_1")] == 1


def check_cons_repost(client):
    """The CONS re-post of an NRT image is its version 2."""
    pid = f"sample-{CONS_REPOST[1]}-image-crab-2565"
    latest = product(client, pid)
    assert latest["version"] == 2 and latest["data_version"] == "CONS" and latest["title"] == "Crab Rev. 2565"
    versions = client.get(f"/api/v1/products/{pid}/versions").json()
    assert [(v["number"], v["data_version"], v["title"]) for v in versions] == [
        (2, "CONS", "Crab Rev. 2565"), (1, "NRT", "Crab Rev. 2565 (NRT)")]
    assert latest["provenance"]["parameters"]["data_version"] == "CONS"
    assert latest["provenance"]["notebook"] == "notebooks/revolution_products.ipynb"


def _scw_seconds(obs: dict) -> float:
    """Mean pointing length (s) implied by an observation's span, ScW count and 120-s slews."""
    from skygallery.science.timesys import ijd
    span = (ijd(obs["t2"]) - ijd(obs["t1"])) * 86400
    return (span - 120 * (obs["n_scw"] - 1)) / obs["n_scw"]


def _true_positions(obs) -> list[tuple[float, float]]:
    return [SOURCES[n][:2] for n in obs.field] + [(ra, dec) for _n, ra, dec, _r in obs.extra]


def test_image_files_follow_osa_and_peak_on_sources(client):
    load_sample()
    checked = 0
    for obs in OBSERVATIONS:
        for cam in ("isgri", *obs.jemx):
            meta = product(client, f"sample-{cam}-image-{obs.slug}")
            with open_fits(download(client, meta, "fits")) as hdul:
                assert hdul[0].name == "PRIMARY" and len(hdul) == 5
                assert {h.name for h in hdul[1:]} == {EXTNAMES[cam]}
                maps = {h.header["IMATYPE"]: h for h in hdul[1:]}
                assert set(maps) == {"INTENSITY", "VARIANCE", "SIGNIFICANCE", "EXPOSURE"}
                h = maps["SIGNIFICANCE"].header
                assert h["MJDREF"] == 51544 and h["TIMESYS"] == "TT" and h["TSTART"] < h["TSTOP"]
                assert h["REVOL"] == obs.rev and (h["E_MIN"], h["E_MAX"]) == ((28, 40) if cam == "isgri" else (3, 20))
                assert maps["EXPOSURE"].header["BUNIT"] == "sec"
                if cam == "isgri":
                    assert h["CD1_1"] == pytest.approx(-0.0822863) and maps["INTENSITY"].header["BUNIT"] == "counts/sec"
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    wcs = WCS(h)
                assert wcs.has_celestial and wcs.wcs.ctype[0] == "RA---TAN"
                sig, expo = maps["SIGNIFICANCE"].data, maps["EXPOSURE"].data
                border = np.concatenate([expo[0], expo[-1], expo[:, 0], expo[:, -1]])
                centre = expo[expo.shape[0] // 2, expo.shape[1] // 2]
                assert border.max() < 0.2 * expo.max() and centre > 0.5 * expo.max()  # falls off to the edges
                if meta["detected_sources"]:
                    iy, ix = np.unravel_index(np.argmax(sig), sig.shape)
                    px = np.array([wcs.world_to_pixel_values(ra, dec) for ra, dec in _true_positions(obs)])
                    assert np.min(np.hypot(px[:, 0] - ix, px[:, 1] - iy)) <= 1.0
                    checked += 1
            region = download(client, meta, "region").decode()
            assert "fk5" in region and region.count("circle(") == len(meta["detected_sources"])
            assert download(client, meta, "preview")[:8] == b"\x89PNG\r\n\x1a\n"
    assert checked >= 10
    gc = product(client, "sample-isgri-image-galactic-center-2565")
    new = [d for d in gc["detected_sources"] if d["new_source"]]
    assert [d["name"] for d in new] == ["NEW_1"] and "color=red" in download(client, gc, "region").decode()
    assert all(d["significance"] >= 7 and d["flux_err"] > 0 for d in gc["detected_sources"])


def test_light_curves_and_spectra_follow_ogip(client):
    load_sample()
    vela = product(client, "sample-isgri-lc-vela-x-1-2564")
    assert vela["highlight"] and vela["time_bin_s"] == 1000
    assert [p["product_id"] for p in search(client, highlight="true")] == ["sample-isgri-lc-vela-x-1-2564"]
    for pid in ("sample-isgri-lc-vela-x-1-2564", "sample-jemx1-lc-igr-j19140-0951-2564",
                "sample-isgri-lc-crab-2563-2565"):
        meta = product(client, pid)
        with open_fits(download(client, meta, "fits")) as hdul:
            lc = hdul["RATE"]
            assert lc.header["HDUCLAS1"] == "LIGHTCURVE" and lc.header["TIMEUNIT"] == "d"
            assert lc.header["MJDREF"] == 51544 and lc.header["TIMESYS"] == "TT"
            units = {c.name: c.unit for c in lc.columns}
            assert units == {"TIME": "d", "TIMEDEL": "d", "RATE": "count/s", "ERROR": "count/s", "FRACEXP": None}
            d = lc.data
            assert np.all(np.diff(d["TIME"]) > 0) and np.all(d["ERROR"] > 0)
            assert np.all((d["FRACEXP"] > 0) & (d["FRACEXP"] <= 1))
            assert lc.header["TSTART"] <= d["TIME"][0] and d["TIME"][-1] <= lc.header["TSTOP"]
    rates = open_fits(download(client, vela, "fits"))["RATE"].data["RATE"]
    assert rates.max() > 3 * np.median(rates)  # the flare
    longterm = product(client, "sample-isgri-lc-crab-2563-2565")
    assert (longterm["rev1"], longterm["rev2"], longterm["span"]) == (2563, 2565, 2)
    meta = product(client, "sample-isgri-spectrum-crab-2565")
    files = {f["role"]: f["name"] for f in meta["files"]}
    with open_fits(download(client, meta, "fits")) as pha, open_fits(download(client, meta, "rmf")) as rmf, \
            open_fits(download(client, meta, "arf")) as arf:
        spec = pha["SPECTRUM"]
        assert spec.header["HDUCLAS1"] == "SPECTRUM" and spec.header["EXPOSURE"] > 0
        assert spec.header["RESPFILE"] == files["rmf"] and spec.header["ANCRFILE"] == files["arf"]
        assert spec.columns.names == ["CHANNEL", "RATE", "STAT_ERR", "SYS_ERR", "QUALITY", "GROUPING"]
        assert spec.columns["RATE"].unit == "count/s"
        n = len(spec.data)
        assert rmf["SPECRESP MATRIX"].header["DETCHANS"] == n == len(rmf["EBOUNDS"].data)
        assert rmf["SPECRESP MATRIX"].data["MATRIX"].shape[1] == n and len(arf["SPECRESP"].data) == len(
            rmf["SPECRESP MATRIX"].data)
        good = spec.data["QUALITY"] == 0
        band = (rmf["EBOUNDS"].data["E_MIN"] >= 28) & (rmf["EBOUNDS"].data["E_MAX"] <= 45)
        assert 40 < spec.data["RATE"][band].sum() < 100 and good.sum() >= 15  # Crab ~69 counts/s, 29-44 keV


def _state():
    from skygallery.gallery.models import ObservationFile, ProcessingLog, Product, ProductVersion, Source
    return (sorted(Product.objects.values_list("product_id", "version")), ProductVersion.objects.count(),
            ObservationFile.objects.count(), ProcessingLog.objects.count(), Source.objects.count())


def test_loading_twice_changes_nothing_and_changed_content_makes_one_version(monkeypatch):
    import dataclasses

    from skygallery.client import sample
    from skygallery.gallery.models import Product
    first = load_sample()
    before = _state()
    total = first["observations"] + first["products"] + first["processing_logs"]
    assert load_sample()["actions"] == {"unchanged": total} and _state() == before
    observations, products, logs = sample.build_sample()
    flip = "sample-isgri-lc-crab-2565"  # its content changes: highlight on
    changed = [[dataclasses.replace(s, payload={**s.payload, "highlight": True}) if s.payload["product_id"] == flip
                else s for s in states] for states in products]
    monkeypatch.setattr(sample, "build_sample", lambda: (observations, changed, logs))
    assert load_sample()["actions"] == {"new version": 1, "unchanged": total - 1}
    assert Product.objects.get(product_id="sample-isgri-lc-crab-2565").version == 2
    assert Product.objects.get(product_id="sample-isgri-image-crab-2565").version == 2


@needs_shared_data()
def test_real_files_are_posted(client):
    summary = load_sample(real_data_dir=SHARED_DATA)
    assert summary["real_data"] and summary["products"] == 25 + 4
    mosaic = product(client, "real-isgri-image-gc-2003-03-15")
    found = {d["name"]: d for d in mosaic["detected_sources"]}
    assert set(found) == set(REAL_MOSAIC) and mosaic["t1"].startswith("2003-03-15")
    for name, sigma in REAL_MOSAIC.items():  # published significances of this mosaic
        assert found[name]["significance"] == pytest.approx(sigma, rel=0.15)
        ra, dec = SOURCES[name][:2]
        assert abs(found[name]["dec"] - dec) < 0.1 and abs((found[name]["ra"] - ra) * np.cos(np.radians(dec))) < 0.1
    with open_fits(download(client, mosaic, "fits")) as hdul:
        assert len(hdul) == 6 and hdul[2].header["IMATYPE"] == "INTENSITY"
    spectrum = product(client, "real-isgri-spectrum-1a-0535-262")
    assert {f["role"] for f in spectrum["files"]} == {"fits", "rmf", "arf", "preview"} and spectrum["span"] > 0
    jemx = product(client, "real-jemx1-lc-crab-010200230010")
    assert jemx["rev1"] == 102 and jemx["time_bin_s"] == pytest.approx(20.0) and jemx["sources"] == ["Crab"]
    grb = product(client, "real-spiacs-lc-grb-230307a")
    assert grb["product_type"] == "spi_acs_lc" and grb["t1"].startswith("2023-03-07")
    source = client.get(f"/api/v1/sources/{quote('GRB 230307A')}").json()
    assert source["object_type"] == "GRB" and source["ra"] == pytest.approx(60.8466)


def test_demo_command_without_serving(db, tmp_path):
    """`skygallery demo --no-serve` sets up, creates an admin to post as, loads and summarises the sample."""
    from typer.testing import CliRunner

    from skygallery.client.cli import app
    from skygallery.gallery.models import Product
    result = CliRunner().invoke(app, ["demo", "--sample", "--no-serve", "--real-data", str(tmp_path / "absent")])
    assert result.exit_code == 0, result.output
    assert "Sample gallery" in result.output and "real files used" in result.output
    assert Product.objects.filter(created_by__username="admin").count() == Product.objects.count() > 20
