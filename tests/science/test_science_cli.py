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


@pytest.mark.parametrize("command", ["mosaic", "detect"])
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
        assert set(["RA_FIN", "DEC_FIN", "DETSIG", "FLUX", "FLUX_ERR", "ERR_RAD", "NEW_SOURCE"]) <= set(h[1].columns.names)
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
    with fits.open(next((out / "scw").glob("*.fits"))) as h:
        assert h[2].header["EXTNAME"] == "ISGR-SKY.-IMA" and len(h) == 7 and h[2].header["REVOL"] == 665
    rows = json.loads(_run("detect", out / "isgri_mosa_ima.fits", "--json").output)
    assert rows[0]["name"] == "Crab"
    bad = _run("image", arch, "--e1", "40", "--e2", "20", "--out", out)
    assert bad.exit_code == 2 and "e1" in bad.output
    bad = _run("image", arch, "--ra", "458", "--dec", "0", "--out", out)
    assert bad.exit_code == 2 and "ra" in bad.output
