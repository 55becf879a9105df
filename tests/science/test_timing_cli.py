"""The timing CLI: ``skygallery lightcurve`` and ``skygallery spiacs-lc``."""
from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from skygallery.client.cli import app
from skygallery.science.ogip_lc import read_lightcurve
from skygallery.science.spiacs import read_acs_fits
from tests.conftest import SHARED_DATA, needs_shared_data

JEMX_LC = SHARED_DATA / "jemx" / "jemx1_lc_crab_010200230010.fits.gz"
GRB_FILE = SHARED_DATA / "spiacs" / "spiacs_lc_grb230307a.fits"


def _run(*args):
    """The command's output on a 250-column console (tables keep their rows on one line)."""
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})


@pytest.mark.parametrize("command", ["lightcurve", "spiacs-lc"])
def test_help_has_summary_and_examples(command):
    result = _run(command, "--help")
    assert result.exit_code == 0 and "Examples:" in result.output


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    from skygallery.science.simulate.archive import simulate_archive
    from skygallery.science.simulate.plan import Observation
    from skygallery.science.simulate.sky import SimSource, SkyModel
    root = tmp_path_factory.mktemp("arch")
    obs = [Observation("SIM X-1", 250.0, -40.0, "hex", 2, obsid="0700001", pointing_s=1800.0)]
    simulate_archive(root, 700, obs, SkyModel([SimSource.from_mcrab("SIM X-1", 250.0, -40.0, 200.0)]), seed=2,
                     instruments=("ISGR", "JMX1"))
    return root


def test_lightcurve_from_an_archive_writes_ogip_and_png(archive, tmp_path):
    out = tmp_path / "lc"
    result = _run("lightcurve", archive, "--ra", 250.0, "--dec", -40.0, "--source", "SIM X-1", "--out", out,
                  "--time-bin", 600, "--band", 20, 40, "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["n_bins"] == 6 and summary["n_scw"] == 2 and summary["e_min_kev"] == 20.0
    assert summary["constancy"]["p_value"] > 1e-3 and summary["flares"] == []
    fits_path, png = (out / "isgri_lc_SIM_X-1.fits"), (out / "isgri_lc_SIM_X-1.png")
    assert summary["files"] == [str(fits_path), str(png)]
    assert png.read_bytes()[:4] == b"\x89PNG"
    lc = read_lightcurve(fits_path)
    assert len(lc) == 6 and np.allclose(lc.timedel_s, 600.0)
    assert lc.rate.mean() == pytest.approx(summary["constancy"]["mean"], rel=0.05)


def test_lightcurve_per_scw_and_rebin_text_output(archive, tmp_path):
    result = _run("lightcurve", archive, "--ra", 250.0, "--dec", -40.0, "--out", tmp_path, "--rebin", 2000,
                  "--no-plot")
    assert result.exit_code == 0, result.output
    assert "2 bins from 2 ScWs" in result.output and "constancy chi2" in result.output and "wrote" in result.output
    [written] = list(tmp_path.glob("isgri_lc_*.fits"))
    lc = read_lightcurve(written)
    assert len(lc) == 2 and np.allclose(lc.timedel_s, 1800.0, rtol=1e-6)    # one ScW per 2000 s bin
    result = _run("lightcurve", archive, "--ra", 250.0, "--dec", -40.0, "--out", tmp_path, "--rebin", 8000,
                  "--no-plot")
    assert "1 bins from 2 ScWs" in result.output


def test_lightcurve_jemx_matches_the_simulated_rate(archive, tmp_path):
    from astropy.io import fits
    result = _run("lightcurve", archive, "--ra", 250.0, "--dec", -40.0, "--source", "SIM X-1", "--out", tmp_path,
                  "--instrument", "JMX1", "--time-bin", 900, "--json", "--no-plot")
    assert result.exit_code == 0, result.output
    s = json.loads(result.output)
    assert s["instrument"] == "JMX1" and (s["e_min_kev"], s["e_max_kev"]) == (3.0, 20.0) and s["n_bins"] == 4
    truth = [float(fits.getdata(p, "TRUTH-JMX1")["RATE_3_20"][0]) for p in sorted(archive.glob("scw/*/*/truth.fits"))]
    c = s["constancy"]
    assert abs(c["mean"] - np.mean(truth)) < 4 * c["mean_error"] and c["p_value"] > 1e-3
    assert read_lightcurve(tmp_path / "jmx1_lc_SIM_X-1.fits").instrument == "JMX1"


@pytest.mark.parametrize("args, field", [
    (["--ra", 250.0, "--dec", -40.0, "--band", 40, 20], "band"),
    (["--ra", 250.0], "ra/dec"),
    (["--source", "No Such Source"], "source"),
    (["--ra", 250.0, "--dec", -40.0, "--instrument", "SPI"], "instrument"),
    (["--ra", 250.0, "--dec", -40.0, "--t1", "2030-01-01", "--t2", "2030-01-02"], "selection"),
    (["--ra", 250.0, "--dec", -40.0, "--time-bin", -5], "time-bin"),
    (["--ra", 250.0, "--dec", -40.0, "--workers", 0], "workers"),
    (["--ra", 250.0, "--dec", -40.0, "--cache", "/tmp", "--no-cache"], "cache"),
])
def test_lightcurve_bad_input_exits_2_naming_the_field(archive, tmp_path, args, field):
    result = _run("lightcurve", archive, "--out", tmp_path, *args)
    assert result.exit_code == 2, result.output
    assert field in result.output


def _same(a, b, rel=1e-9) -> bool:
    """Nested JSON values equal, floats within ``rel``."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k], rel) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(_same(x, y, rel) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float):
        return a == pytest.approx(b, rel=rel, abs=1e-12)
    return a == b


def test_lightcurve_binned_cache_reused_and_identical(archive, tmp_path):
    """--cache DIR: the first run bins the events into DIR, the second reads the cubes; both equal a
    --no-cache run. A cache path that is a file is refused."""
    args = ["lightcurve", archive, "--ra", 250.0, "--dec", -40.0, "--source", "SIM X-1", "--time-bin", 600,
            "--json", "--no-plot"]
    cache = tmp_path / "binned"
    first = _run(*args, "--out", tmp_path / "a", "--cache", cache, "--workers", 2)
    assert first.exit_code == 0, first.output
    cubes = sorted(cache.rglob("binned-*.npz"))
    assert len(cubes) == 2 and all(c.parent.name == "isgr" for c in cubes)
    stamps = [c.stat().st_mtime_ns for c in cubes]
    second = _run(*args, "--out", tmp_path / "b", "--cache", cache, "--workers", 1)
    assert [c.stat().st_mtime_ns for c in sorted(cache.rglob("binned-*.npz"))] == stamps    # read, not rewritten
    plain = _run(*args, "--out", tmp_path / "c", "--no-cache")
    summaries = [json.loads(r.output) for r in (first, second, plain)]
    for s in summaries:
        s.pop("files")
    # equal up to the summation order of BLAS (one thread in the workers, maybe more here)
    assert _same(summaries[0], summaries[1]) and _same(summaries[0], summaries[2])
    assert np.allclose(read_lightcurve(tmp_path / "a" / "isgri_lc_SIM_X-1.fits").rate,
                       read_lightcurve(tmp_path / "b" / "isgri_lc_SIM_X-1.fits").rate, rtol=1e-9, atol=0)
    (tmp_path / "file").write_text("x")
    bad = _run(*args, "--out", tmp_path / "d", "--cache", tmp_path / "file")
    assert bad.exit_code == 2 and "cache" in bad.output


def test_lightcurve_missing_inputs(tmp_path):
    assert "archive" in _run("lightcurve", "--out", tmp_path, "--source", "Crab").output
    result = _run("lightcurve", "--file", tmp_path / "none.fits")
    assert result.exit_code == 2 and "file" in result.output


@needs_shared_data()
def test_lightcurve_reads_the_real_jemx_file(tmp_path):
    result = _run("lightcurve", "--file", JEMX_LC, "--rebin", 200, "--out", tmp_path, "--json")
    assert result.exit_code == 0, result.output
    s = json.loads(result.output)
    assert s["instrument"] == "JMX1" and s["n_bins"] == 10
    assert 125 < s["constancy"]["mean"] < 145 and s["flares"] == []
    assert len(s["files"]) == 2


def test_spiacs_simulated_window_with_injected_burst(tmp_path):
    out, png = tmp_path / "acs.fits", tmp_path / "acs.png"
    result = _run("spiacs-lc", "--t1", "2023-03-07T15:40:00", "--t2", "2023-03-07T15:45:00",
                  "--burst", "150:40000:0.5:4", "--seed", 3, "--out", out, "--plot", png, "--json")
    assert result.exit_code == 0, result.output
    s = json.loads(result.output)
    assert s["simulated"] and s["n_bins"] == 6000 and s["bin_s"] == 0.05
    [burst] = s["bursts"]
    assert burst["t_start_s"] <= 150 <= burst["t_stop_s"] and burst["peak_sigma"] > 50
    assert burst["t_peak_utc"].startswith("2023-03-07T15:42:3")
    assert burst["fluence_counts"] == pytest.approx(s["injected"][0]["fluence_counts"], rel=0.1)
    assert len(read_acs_fits(out)) == 6000 and png.read_bytes()[:4] == b"\x89PNG"


@needs_shared_data()
def test_spiacs_reads_the_real_grb_file(tmp_path):
    result = _run("spiacs-lc", "--file", GRB_FILE, "--bin", 1.0)
    assert result.exit_code == 0, result.output
    assert "1 bursts" in result.output and "2023-03-07T15:44:0" in result.output


@pytest.mark.parametrize("args, field", [
    (["--t1", "2023-03-07T15:45:00", "--t2", "2023-03-07T15:40:00"], "t1/t2"),
    (["--t1", "2023-03-07T15:40:00"], "t1/t2"),
    (["--t1", "yesterday", "--t2", "2023-03-07T15:40:00"], "t1/t2"),
    (["--t1", "2023-03-07T15:40:00", "--t2", "2023-03-07T15:45:00", "--burst", "1:2"], "burst"),
    (["--t1", "2023-03-07T15:40:00", "--t2", "2023-03-07T15:45:00", "--bin", 0.07], "bin"),
    (["--file", "/nonexistent/acs.fits"], "file"),
    (["--t1", "2023-03-07T15:40:00", "--t2", "2023-03-07T15:45:00", "--threshold", 0], "threshold"),
])
def test_spiacs_bad_input_exits_2_naming_the_field(args, field):
    result = _run("spiacs-lc", *args)
    assert result.exit_code == 2, result.output
    assert field in result.output
