"""Shadowgram fitting and per-ScW extraction: injection–recovery on simulated shadowgrams and ScWs."""
from __future__ import annotations

import math

import numpy as np
import pytest
from astropy.io import fits

from skygallery.science.attitude import Pointing, instrument_angles
from skygallery.science.extract import band_shadowgrams, scw_rates
from skygallery.science.fit_shadowgram import (
    FitSource,
    detector_modules,
    fit_shadowgram,
    prepare_model,
)
from skygallery.science.imaging.shadow import source_shadow
from skygallery.science.instruments import isgri, jemx

POINTING = Pointing(83.63, 22.01, 30.0)
T = 2000.0


def _offset(ra, dec, d_ra_deg, d_dec_deg):
    return ra + d_ra_deg / math.cos(math.radians(dec)), dec + d_dec_deg


def _expected(inst, pointing, sources, rates, exposure, bkg_per_pixel=0.8):
    modules = detector_modules(inst)
    levels = 1.0 + 0.05 * np.sin(np.arange(modules.max() + 1))
    ny, nx = modules.shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    grad = 1.0 + 0.05 * ((xx - nx / 2) / nx + 0.5 * (yy - ny / 2) / ny)
    exp = bkg_per_pixel * np.where(modules >= 0, levels[np.maximum(modules, 0)], 0) * grad * inst.efficiency
    for s, r in zip(sources, rates):
        ty, tx = (float(v) for v in instrument_angles(pointing, s.ra_deg, s.dec_deg, inst.sky_pixel_deg))
        if abs(ty) < 30 and abs(tx) < 30:
            exp = exp + source_shadow(inst, ty, tx, r, exposure)
    return exp


@pytest.fixture(scope="module")
def isgri_dead():
    inst = isgri()
    return inst.with_dead_pixels(np.random.default_rng(5).random(inst.detector.shape) < 0.02)


def test_modules_from_geometry():
    assert detector_modules(isgri()).max() + 1 == 8
    assert np.sum(detector_modules(isgri()) == 0) == 32 * 64
    assert detector_modules(jemx(1)).max() + 1 == 1


def test_injection_recovery_pulls(isgri_dead):
    """On-axis, off-axis, partially coded (edge), overlapping and out-of-field sources: unbiased
    rates and errors that match the scatter over seeded trials (dead pixels 2 %)."""
    ra, dec = POINTING.ra_deg, POINTING.dec_deg
    srcs = [FitSource("onaxis", ra, dec), FitSource("off", *_offset(ra, dec, 3.0, 2.0)),
            FitSource("edge", *_offset(ra, dec, 12.0, -3.0)), FitSource("twin", *_offset(ra, dec, 3.08, 2.05)),
            FitSource("outside", *_offset(ra, dec, 40.0, 0.0))]
    rates = np.array([80.0, 6.0, 30.0, 3.0, 50.0])
    exp = _expected(isgri_dead, POINTING, srcs, rates, T)
    model = prepare_model(isgri_dead, POINTING, srcs)
    assert model.fitted.tolist() == [True, True, True, True, False]
    assert 0.05 < model.coded_fraction[2] < 0.7 and model.coded_fraction[4] == 0
    rng = np.random.default_rng(11)
    pulls = []
    for _ in range(60):
        f = model.fit(rng.poisson(exp).astype(float), T)
        pulls.append((f.rate[:4] - rates[:4]) / f.rate_err[:4])
    assert math.isnan(f.rate[4]) and math.isnan(f.rate_err[4]) and np.isnan(f.covariance[4]).all()
    assert 0.9 < f.chi2 / f.dof < 1.1
    pulls = np.array(pulls)
    assert np.all(np.abs(pulls.mean(axis=0)) < 0.45), pulls.mean(axis=0)
    assert np.all((pulls.std(axis=0) > 0.7) & (pulls.std(axis=0) < 1.3)), pulls.std(axis=0)
    assert f.covariance[1, 3] < 0       # the twins' shadows overlap: anticorrelated rates


def test_bright_neighbour_does_not_leak(isgri_dead):
    """A 2 counts/s source 0.4° from a 1500 counts/s one is recovered within its errors, and the
    same fit without the bright source in the list is badly biased (why every bright source is passed)."""
    ra, dec = POINTING.ra_deg, POINTING.dec_deg
    bright, faint = FitSource("bright", *_offset(ra, dec, 1.0, 1.0)), FitSource("faint", *_offset(ra, dec, 1.3, 1.25))
    exp = _expected(isgri_dead, POINTING, [bright, faint], [1500.0, 2.0], T)
    d = np.random.default_rng(3).poisson(exp).astype(float)
    f = fit_shadowgram(d, isgri_dead, T, POINTING, [bright, faint])
    assert abs(f.rate[1] - 2.0) < 3 * f.rate_err[1]
    alone = fit_shadowgram(d, isgri_dead, T, POINTING, [faint])
    assert abs(alone.rate[0] - 2.0) > 5 * alone.rate_err[0]


def test_background_map_and_input_errors(isgri_dead):
    src = [FitSource("s", POINTING.ra_deg, POINTING.dec_deg)]
    shape = isgri_dead.detector.shape
    bmap = 1.0 + 0.5 * np.linspace(0, 1, shape[1])[None, :] * np.ones(shape)
    exp = 2.0 * bmap * isgri_dead.efficiency + source_shadow(isgri_dead, 0.0, 0.0, 10.0, T)
    d = np.random.default_rng(8).poisson(exp).astype(float)
    f = fit_shadowgram(d, isgri_dead, T, POINTING, src, background_map=bmap)
    assert abs(f.rate[0] - 10.0) < 3 * f.rate_err[0]
    assert f.background.shape == (8,) and np.allclose(f.background, 2.0, rtol=0.06)
    with pytest.raises(ValueError, match="shadowgram"):
        fit_shadowgram(d[:10], isgri_dead, T, POINTING, src)
    with pytest.raises(ValueError, match="exposure_s"):
        fit_shadowgram(d, isgri_dead, 0.0, POINTING, src)
    with pytest.raises(ValueError, match="background_map"):
        fit_shadowgram(d, isgri_dead, T, POINTING, src, background_map=np.ones((3, 3)))
    with pytest.raises(ValueError, match="sources"):
        fit_shadowgram(d, isgri_dead, T, POINTING, src + src)


def test_time_bins_follow_a_flare(isgri_dead):
    """Time-binned fits (background shape fixed): rates track a step, errors match the scatter."""
    src = [FitSource("flare", *_offset(POINTING.ra_deg, POINTING.dec_deg, 2.0, 0.0)),
           FitSource("steady", *_offset(POINTING.ra_deg, POINTING.dec_deg, -4.0, 1.0))]
    truth = np.array([[20.0, 5.0]] * 10 + [[60.0, 5.0]] * 10)
    e_bin = 70.0
    cubes = np.array([_expected(isgri_dead, POINTING, src, r, e_bin, bkg_per_pixel=0.6) for r in truth])
    rng = np.random.default_rng(4)
    counts = rng.poisson(cubes).astype(float)
    model = prepare_model(isgri_dead, POINTING, src)
    whole = model.fit(counts.sum(axis=0), e_bin * len(truth))
    tb = model.fit_time_bins(counts, np.full(len(truth), e_bin), whole, e_bin * len(truth))
    pulls = (tb.rate - truth) / tb.rate_err
    assert abs(pulls.mean()) < 0.5 and 0.7 < pulls.std() < 1.3
    assert abs(tb.background_norm.mean() - 1) < 0.02 and np.all(np.abs(tb.background_norm - 1) < 0.15)


def test_band_shadowgrams_match_single_band_binning():
    rng = np.random.default_rng(1)
    n = 5000
    y, x, e = rng.integers(-2, 136, n), rng.integers(0, 130, n), rng.uniform(10, 120, n)
    cube = band_shadowgrams(y, x, e, [(20, 40), (30, 80), (40, 80)], (134, 130))
    inside = (y >= 0) & (y < 134)
    for band, img in zip([(20, 40), (30, 80), (40, 80)], cube):
        sel = inside & (e >= band[0]) & (e < band[1])
        assert img.sum() == sel.sum()
    with pytest.raises(ValueError, match="bands"):
        band_shadowgrams(y, x, e, [(40, 20)], (134, 130))


def test_scw_rates_on_a_simulated_scw(tmp_path):
    """End to end on one simulated archive ScW: rates per band and time bins vs the truth table."""
    from skygallery.archive.events import read_scw
    from skygallery.science.simulate.archive import simulate_archive
    from skygallery.science.simulate.plan import Observation
    from skygallery.science.simulate.sky import SimSource, SkyModel
    sky = SkyModel([SimSource.from_mcrab("Crab", 83.633, 22.014, 1000),
                    SimSource.from_mcrab("Faint", 85.0, 23.0, 30),
                    SimSource.from_mcrab("Edge", *_offset(83.633, 22.014, 12.0, 0.0), 300)])
    planned = simulate_archive(tmp_path / "a", 665, [Observation("Crab", 83.633, 22.014, "staring", 1)], sky, seed=3)
    scw_dir = tmp_path / "a" / "scw" / "0665" / f"{planned[0].scw_id}"
    data = read_scw(scw_dir, "ISGR")
    srcs = [FitSource(s.name, s.ra_deg, s.dec_deg) for s in sky.sources] + [FitSource("Far", 200.0, -40.0)]
    res = scw_rates(data, isgri(), srcs, [(20, 40), (40, 80)])
    truth = {r["NAME"]: r for r in fits.getdata(scw_dir / "truth.fits", "TRUTH-ISGR")}
    assert res.rate.shape == (2, 4) and math.isnan(res.rate[0, 3]) and res.coded_fraction[3] == 0
    for i, name in enumerate(res.names[:3]):
        for b, col in enumerate(("RATE_20_40", "RATE_40_80")):
            assert abs(res.rate[b, i] - truth[name][col]) < 4 * res.rate_err[b, i], (name, col)
    tb = scw_rates(data, isgri(), srcs[:2], [(20, 40)], time_bin_s=300.0)
    n_t = math.ceil(planned[0].duration_s / 300.0)
    assert tb.rate.shape == (n_t, 1, 2) and tb.tbin_start_ijd[0] == pytest.approx(planned[0].tstart_ijd)
    assert tb.tbin_stop_ijd[-1] == pytest.approx(planned[0].tstop_ijd)
    assert tb.tbin_exposure_s.sum() == pytest.approx(data.exposure_s)
    weights = 1 / tb.rate_err[:, 0, 0] ** 2
    mean = np.sum(tb.rate[:, 0, 0] * weights) / weights.sum()
    assert abs(mean - res.rate[0, 0]) < 2 * res.rate_err[0, 0]
    with pytest.raises(ValueError, match="time_bin_s"):
        scw_rates(data, isgri(), srcs[:1], [(20, 40)], time_bin_s=-5)
