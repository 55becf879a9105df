"""The science-engine CLI: ``skygallery mosaic`` and ``skygallery detect`` on real OSA files."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from astropy.io import fits
from typer.testing import CliRunner

from skygallery.client.cli import app

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
MOSAIC = DATA / "isgri" / "mosaic" / "isgri_mosa_ima_1.fits.gz"
SCW_FILES = sorted((DATA / "isgri" / "scw").glob("isgri_sky_ima_*.fits.gz")) if DATA.is_dir() else []
CAT_DIR = DATA / "catalog" / "isdc_gnrl_refr_cat_0043"
needs_real = pytest.mark.skipif(not MOSAIC.is_file() or len(SCW_FILES) != 2,
                                reason=f"real INTEGRAL images not available under {DATA} (../shared/data)")


def _run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize("command", ["mosaic", "detect", "image", "simulate-archive"])
def test_help_has_summary_and_examples(command):
    result = _run(command, "--help")
    assert result.exit_code == 0 and "Examples:" in result.output


@needs_real
def test_detect_json_and_outputs_on_the_real_mosaic(tmp_path):
    cat, reg = tmp_path / "c.fits", tmp_path / "r.reg"
    result = _run("detect", MOSAIC, "--threshold", "7", "--json", "--reference-catalog", CAT_DIR,
                  "--catalog-out", cat, "--region-out", reg)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    names = [r["name"] for r in rows]
    assert names[:5] == ["4U 1700-377", "OAO 1657-415", "GX 349+2", "GX 354-0", "1E 1740.7-2942"]
    assert all(r["detsig"] >= 7 for r in rows)
    with fits.open(cat) as h:
        assert list(h[1].data["NAME"][:2]) == ["4U 1700-377", "OAO 1657-415"]
        assert {"RA_FIN", "DEC_FIN", "DETSIG", "FLUX", "FLUX_ERR", "ERR_RAD", "NEW_SOURCE"} <= set(h[1].columns.names)
    assert reg.read_text().count("circle(") == len(rows)


@needs_real
def test_mosaic_then_detect_the_crab(tmp_path):
    out = tmp_path / "crab.fits"
    result = _run("mosaic", *SCW_FILES, "--out", out)
    assert result.exit_code == 0, result.output
    result = _run("detect", out, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert rows[0]["name"] == "Crab" and rows[0]["detsig"] > 150


def test_bad_inputs_exit_2_naming_the_field(tmp_path):
    junk = tmp_path / "junk.fits"
    junk.write_text("not fits")
    result = _run("detect", junk)
    assert result.exit_code == 2 and "mosaic" in result.output
    result = _run("detect", tmp_path / "absent.fits")
    assert result.exit_code == 2 and "no such file" in result.output
    result = _run("mosaic", junk, "--out", tmp_path / "m.fits")
    assert result.exit_code == 2 and "junk.fits" in result.output


def test_simulate_archive_then_image_from_the_cli(tmp_path):
    arch, out = tmp_path / "arch", tmp_path / "prod"
    result = _run("simulate-archive", arch, "--field", "Crab", "--pattern", "hex", "--n-pointings", "2",
                  "--seed", "4")
    assert result.exit_code == 0, result.output
    assert (arch / "idx" / "scw_index.fits").is_file()
    result = _run("image", arch, "--ra", "83.63", "--dec", "22.01", "--radius", "5", "--out", out)
    assert result.exit_code == 0, result.output
    assert len(list((out / "scw").glob("*_isgri_sky_ima.fits"))) == 2
    with fits.open(out / "isgri_mosa_ima.fits") as h:
        assert [x.header["IMATYPE"] for x in h[2:]] == ["INTENSITY", "VARIANCE", "SIGNIFICANCE", "EXPOSURE"]
    with fits.open(next((out / "scw").glob("*_sky_ima.fits"))) as h:
        assert h[2].header["EXTNAME"] == "ISGR-SKY.-IMA" and len(h) == 7 and h[2].header["REVOL"] == 665
        assert h[2].header["OVERSAMP"] == 2 and abs(h[2].header["CD1_1"] ** 2 + h[2].header["CD1_2"] ** 2
                                                    - (0.0822863 / 2) ** 2) < 1e-8
    # each ScW has its source list next to its images, the Crab in it with FLUX/FLUX_ERR = DETSIG
    lists = sorted((out / "scw").glob("*_isgri_srcl.fits"))
    assert len(lists) == 2
    with fits.open(lists[0]) as h:
        rows = h["ISGR-SRCL-RES"].data
        assert rows["NAME"][0] == "Crab" and h["ISGR-SRCL-RES"].header["SWID"] == lists[0].name[:12]
        assert rows["FLUX"][0] / rows["FLUX_ERR"][0] == pytest.approx(rows["DETSIG"][0], rel=1e-5)
    rows = json.loads(_run("detect", out / "isgri_mosa_ima.fits", "--json").output)
    assert rows[0]["name"] == "Crab"
    bad = _run("image", arch, "--e1", "40", "--e2", "20", "--out", out)
    assert bad.exit_code == 2 and "e1" in bad.output
    bad = _run("image", arch, "--ra", "458", "--dec", "0", "--out", out)
    assert bad.exit_code == 2 and "ra" in bad.output


def test_simulate_archive_with_flares_and_a_sky_model_file(tmp_path):
    model = tmp_path / "sky.json"
    model.write_text(json.dumps({"sources": [
        {"name": "Crab", "flux_mcrab": 800},
        {"name": "My Transient", "ra": 84.0, "dec": 21.0, "flux_mcrab": 300, "t_on": "ijd:3005.0",
         "t_off": "ijd:3006.0"}]}))
    arch = tmp_path / "arch"
    result = _run("simulate-archive", arch, "--field", "Crab", "--pattern", "staring", "--n-pointings", "2",
                  "--sky-radius", "3", "--sky-model", model, "--flare", "Crab:ijd:3005.768:900:3", "--seed", "2")
    assert result.exit_code == 0, result.output
    assert "variable: Crab, My Transient" in result.output
    truths = [fits.getdata(p / "truth.fits", "TRUTH-ISGR") for p in sorted((arch / "scw" / "0665").iterdir())]
    crab = [float(t["LC_MEAN"][list(t["NAME"]).index("Crab")]) for t in truths]
    assert crab[0] > 1.5 and crab[0] > crab[1] > 1.0            # peak in the first ScW, decaying in the next
    assert all("My Transient" in list(t["NAME"]) for t in truths)
    bad = _run("simulate-archive", tmp_path / "x", "--field", "Crab", "--flare", "Crab:3005.7:900")
    assert bad.exit_code == 2 and "flare" in bad.output
    bad = _run("simulate-archive", tmp_path / "x", "--field", "Crab", "--flare", "Vela X-1:ijd:3005.7:900:3")
    assert bad.exit_code == 2 and "Vela X-1" in bad.output
    bad = _run("simulate-archive", tmp_path / "x", "--field", "Crab", "--sky-model", tmp_path / "absent.yaml")
    assert bad.exit_code == 2 and "sky-model" in bad.output
