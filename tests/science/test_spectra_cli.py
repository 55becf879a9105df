"""The spectral CLI: ``skygallery spectrum`` on a simulated archive, ``skygallery fit-spectrum`` on our
products and on the real OSA 1A 0535+262 spectrum, and the exit code 2 for bad input."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from astropy.io import fits
from typer.testing import CliRunner

from skygallery.client.cli import app

SPEC_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "isgri" / "spectrum"
needs_spec = pytest.mark.skipif(not SPEC_DIR.is_dir(), reason=f"real ISGRI spectrum not available at {SPEC_DIR}")


def _run(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    from skygallery.science.simulate.archive import simulate_archive
    from skygallery.science.simulate.plan import Observation
    from skygallery.science.simulate.sky import SimSource, SkyModel
    root = tmp_path_factory.mktemp("spec_cli") / "archive"
    sky = SkyModel([SimSource.from_mcrab("Crab", 83.633, 22.014, 1000),
                    SimSource.from_mcrab("Faint", 85.0, 23.0, 60, index=2.5)])
    simulate_archive(root, 665, [Observation("Crab", 83.633, 22.014, "hex", 2)], sky, seed=5)
    return root


@pytest.mark.parametrize("command", ["spectrum", "fit-spectrum"])
def test_help_has_summary_and_examples(command):
    result = _run(command, "--help")
    assert result.exit_code == 0 and "Examples:" in result.output


def test_spectrum_then_fit_spectrum(archive, tmp_path):
    out = tmp_path / "spec"
    result = _run("spectrum", archive, "--source", "Faint", "--ra", 85.0, "--dec", 23.0, "--out", out,
                  "--bins", 10, "--sys-frac", 0.01, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["n_scw"] == 2 and len(summary["channels_kev"]) == 10 and "Crab" in summary["fitted_sources"]
    files = [Path(f) for f in summary["files"]]
    assert all(f.is_file() for f in files) and {f.suffix for f in files} == {".fits", ".rmf", ".arf", ".png"}
    assert summary["seconds"]["read"] > 0 and summary["seconds"]["fit"] > 0
    pha = out / "isgri_spectrum_Faint.fits"
    h = fits.getheader(pha, "SPECTRUM")
    assert h["RESPFILE"] == "isgri_spectrum_Faint.rmf" and h["CRABRATE"] > 0 and h["NSCW"] == 2
    assert fits.getdata(pha, "SPECTRUM")["SYS_ERR"][0] == pytest.approx(0.01)
    fit = _run("fit-spectrum", pha, "--json", "--errors", "covariance")       # RMF/ARF from the header
    assert fit.exit_code == 0, fit.output
    result = json.loads(fit.output)
    index = result["params"]["PhoIndex"]
    assert abs(index["value"] - 2.5) < 4 * index["err_hi"] and result["reduced"] is not None
    pha2 = out / "isgri_spectrum_Faint_pha2.fits"
    crab = _run("fit-spectrum", pha2, "--row", "Crab", "--json", "--emin", 20, "--emax", 150)
    assert crab.exit_code == 0, crab.output
    assert abs(json.loads(crab.output)["params"]["PhoIndex"]["value"] - 2.1) < 0.05


@needs_spec
def test_fit_spectrum_real_osa_file(tmp_path):
    plot = tmp_path / "fit.png"
    result = _run("fit-spectrum", SPEC_DIR / "isgri_spectrum_1A0535.fits.gz", "--rmf", SPEC_DIR / "isgri_rmf.fits.gz",
                  "--arf", SPEC_DIR / "isgri_arf.fits.gz", "--emin", 20, "--emax", 100, "--json", "--plot", plot)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["statistic"] == "chi2" and out["energy_range_kev"] == [30.0, 99.5]
    assert 2.5 < out["params"]["PhoIndex"]["value"] < 3.8 and 0.7 < out["reduced"] < 1.6
    assert plot.is_file() and plot.stat().st_size > 10_000


@needs_spec
@pytest.mark.parametrize("args,field", [
    (["--emin", 100, "--emax", 20], "emin"),
    (["--model", "blackbody"], "model"),
    ([], "rmf"),                                    # RESPFILE of the OSA spectrum is not shipped
    (["--rmf", "/nonexistent.rmf"], "rmf"),
])
def test_fit_spectrum_bad_input(args, field):
    result = _run("fit-spectrum", SPEC_DIR / "isgri_spectrum_1A0535.fits.gz", *args)
    assert result.exit_code == 2 and f"{field}:" in result.output, result.output


def test_bad_input_exit_code_2(tmp_path, archive):
    image = tmp_path / "image.fits"
    fits.PrimaryHDU().writeto(image)
    cases = [(["fit-spectrum", image, "--rmf", image], "pha"),
             (["fit-spectrum", tmp_path / "none.pha"], "pha"),
             (["spectrum", archive, "--source", "Crab", "--out", tmp_path, "--emin", 100, "--emax", 20], "emin"),
             (["spectrum", archive, "--source", "Crab", "--out", tmp_path, "--instrument", "SPI"], "instrument"),
             (["spectrum", tmp_path / "missing", "--source", "Crab", "--out", tmp_path], "archive"),
             (["spectrum", archive, "--ra", 10.0, "--dec", 10.0, "--out", tmp_path], "selection"),
             (["spectrum", archive, "--source", "Crab", "--out", tmp_path, "--workers", 0], "workers"),
             (["spectrum", archive, "--source", "Crab", "--out", tmp_path, "--cache", tmp_path, "--no-cache"],
              "cache")]
    for args, field in cases:
        result = _run(*args)
        assert result.exit_code == 2 and f"{field}:" in result.output, (args, result.output)
