"""Light curves: rebinning, variability, flares, OGIP files (ours and the real JEM-X one), and
injection–recovery through the simulator + shadowgram-fit chain."""
from __future__ import annotations

import gzip
import math

import numpy as np
import pytest
from astropy.io import fits
from scipy import stats

from skygallery.science import lightcurves as L
from skygallery.science.ogip_lc import read_lightcurve, write_lightcurve
from tests.conftest import SHARED_DATA, needs_shared_data

JEMX_LC = SHARED_DATA / "jemx" / "jemx1_lc_crab_010200230010.fits.gz"
DAY = 86400.0


def _lc(rate, error, width_s=100.0, t0=5000.0, fracexp=0.7, **kw) -> L.LightCurve:
    rate = np.asarray(rate, float)
    n = rate.size
    t = t0 + (np.arange(n) + 0.5) * width_s / DAY
    return L.LightCurve(t, np.full(n, width_s), rate, np.broadcast_to(error, (n,)).astype(float),
                        np.full(n, fracexp), np.full(n, 10.0), source="Test", instrument="ISGR",
                        e_min_kev=20.0, e_max_kev=40.0, **kw)


# ----------------------------------------------------------------------------------------- model
@pytest.mark.parametrize("field, kwargs", [
    ("timedel", {"timedel_s": [100.0, 0.0]}),
    ("error", {"error": [1.0, -1.0]}),
    ("fracexp", {"fracexp": [0.5, 1.5]}),
    ("rate", {"rate": [1.0, 2.0, 3.0]}),
])
def test_invalid_columns_name_the_field(field, kwargs):
    base = {"time_ijd": [1.0, 2.0], "timedel_s": [100.0, 100.0], "rate": [1.0, 2.0], "error": [1.0, 1.0],
                "fracexp": [1.0, 1.0], "backv": [0.0, 0.0]}
    base.update(kwargs)
    with pytest.raises(ValueError, match=field):
        L.LightCurve(**base)


def test_band_must_be_ordered():
    with pytest.raises(ValueError, match="band"):
        _lc([1.0, 2.0], 1.0).__class__(np.array([1.0]), [1.0], [1.0], [1.0], [1.0], [0.0], e_min_kev=40, e_max_kev=20)


def test_rebin_variance_and_exposure_weighting_by_hand():
    lc = _lc([10.0, 20.0, 30.0, 40.0], [1.0, 2.0, 1.0, 1.0])
    lc.fracexp[:] = [0.5, 1.0, 1.0, 1.0]
    v = L.rebin(lc, 200.0)
    w = np.array([1.0, 0.25])
    assert v.rate[0] == pytest.approx(np.sum(w * [10, 20]) / w.sum())
    assert v.error[0] == pytest.approx(1 / math.sqrt(w.sum()))
    assert v.rate[1] == pytest.approx(35.0) and v.error[1] == pytest.approx(1 / math.sqrt(2))
    e = L.rebin(lc, 200.0, "exposure")
    x = np.array([50.0, 100.0])
    assert e.rate[0] == pytest.approx(np.sum(x * [10, 20]) / x.sum())
    assert e.error[0] == pytest.approx(math.sqrt(np.sum((x * [1.0, 2.0]) ** 2)) / x.sum())
    assert v.timedel_s[0] == pytest.approx(200.0) and v.fracexp[0] == pytest.approx(0.75)
    assert v.time_ijd[0] == pytest.approx(lc.tstart_ijd[0] + 100.0 / DAY, abs=1e-9)
    assert len(v) == 2 and v.meta["REBIN_S"] == 200.0


def test_rebin_keeps_the_mean_and_shrinks_errors_like_sqrt_n():
    rng = np.random.default_rng(4)
    lc = _lc(50 + rng.normal(0, 2.0, 400), 2.0)
    r = L.rebin(lc, 1000.0)
    assert len(r) == 40
    np.testing.assert_allclose(r.error, 2.0 / math.sqrt(10))
    pulls = (r.rate - 50.0) / r.error
    assert abs(pulls.mean()) < 0.6 and 0.7 < pulls.std() < 1.3


def test_rebin_rejects_bad_requests():
    lc = _lc([1.0, 2.0, 3.0], 1.0)
    with pytest.raises(ValueError, match="bin"):
        L.rebin(lc, 50.0)
    with pytest.raises(ValueError, match="weighting"):
        L.rebin(lc, 200.0, "median")
    with pytest.raises(ValueError, match="bin"):
        L.rebin(lc, -1.0)


def test_merge_sorts_drops_duplicates_and_checks_band():
    a = _lc([1.0, 2.0], 1.0, swid=["000100010010", "000100010010"])
    b = _lc([3.0, 4.0], 1.0, t0=4000.0, swid=["000100020010", "000100020010"])
    m = L.merge([a, b, a])
    assert len(m) == 4 and np.all(np.diff(m.time_ijd) > 0) and list(m.rate) == [3.0, 4.0, 1.0, 2.0]
    other = _lc([1.0], 1.0)
    other.e_min_kev, other.e_max_kev = 40.0, 80.0
    with pytest.raises(ValueError, match="band"):
        L.merge([a, other])


# ----------------------------------------------------------------------------------- statistics
def test_constancy_test_is_calibrated_on_gaussian_constant_curves():
    rng = np.random.default_rng(11)
    p = np.array([L.constancy_test(_lc(20 + rng.normal(0, 1.5, 30), 1.5)).p_value for _ in range(400)])
    assert 0.02 < np.mean(p < 0.05) < 0.085
    assert stats.kstest(p, "uniform").pvalue > 0.01


def test_constancy_test_flags_a_variable_curve_and_needs_two_bins():
    rng = np.random.default_rng(2)
    t = np.arange(50)
    rate = 20 + 3 * np.sin(t / 5) + rng.normal(0, 1.0, 50)
    ct = L.constancy_test(_lc(rate, 1.0))
    assert ct.p_value < 1e-6 and ct.variable() and ct.sigma > 5 and ct.dof == 49
    with pytest.raises(ValueError, match="rate"):
        L.constancy_test(_lc([1.0], 1.0))


def test_fractional_variability_recovers_an_injected_rms():
    rng = np.random.default_rng(5)
    intrinsic = 100 * (1 + 0.2 * rng.standard_normal(300))
    rate = intrinsic + rng.normal(0, 5.0, 300)
    fv = L.fractional_variability(_lc(rate, 5.0))
    # Vaughan's errors cover the measurement noise, not the scatter of the random process itself:
    # compare with the rms of this realisation of the intrinsic variations
    realised = np.std(intrinsic, ddof=1) / np.mean(rate)
    assert abs(fv.fvar - realised) < 3 * fv.fvar_error and 0.001 < fv.fvar_error < 0.01
    assert abs(fv.fvar - 0.2) < 0.03
    assert fv.nxs == pytest.approx(fv.fvar ** 2)


def test_fractional_variability_of_a_constant_source_is_an_upper_limit():
    rng = np.random.default_rng(6)
    fv = L.fractional_variability(_lc(100 + rng.normal(0, 5.0, 200), 5.0))
    if fv.nxs <= 0:
        assert math.isnan(fv.fvar) and 0 < fv.fvar_upper_limit < 0.1
    else:   # a positive fluctuation of the excess: consistent with zero
        assert fv.nxs < 3 * fv.nxs_error


def test_flares_are_found_with_start_peak_and_stop():
    rng = np.random.default_rng(8)
    rate = 10 + rng.normal(0, 1.0, 120)
    rate[40:44] += [8, 15, 9, 8]
    rate[90] += 12
    lc = _lc(rate, 1.0)
    flares = L.find_flares(lc, 4.0)
    assert len(flares) == 2
    first, second = flares
    assert first.start_ijd == pytest.approx(lc.tstart_ijd[40], abs=1e-9)
    assert first.stop_ijd == pytest.approx(lc.tstop_ijd[43], abs=1e-9)
    assert first.peak_ijd == pytest.approx(lc.time_ijd[41], abs=1e-9) and first.n_bins == 4 and first.peak_sigma > 10
    assert first.excess_counts == pytest.approx(np.sum(rate[40:44] - first.baseline) * 70.0)
    assert second.n_bins == 1 and second.peak_ijd == pytest.approx(lc.time_ijd[90], abs=1e-9)
    assert abs(first.baseline - 10) < 0.5        # the flares do not bias the baseline
    assert L.find_flares(_lc(10 + rng.normal(0, 1.0, 200), 1.0), 5.0) == []


def test_flares_split_across_a_long_gap():
    rate = np.r_[np.full(20, 10.0), 30.0, 30.0, np.full(20, 10.0)]
    lc = _lc(rate, 1.0)
    lc.time_ijd[21:] += 1.0         # one day later: not the same flare
    assert len(L.find_flares(lc.sorted(), 5.0)) == 2


# ----------------------------------------------------------------------------------------- OGIP
def test_ogip_round_trip_values_and_keywords(tmp_path):
    rng = np.random.default_rng(3)
    lc = _lc(20 + rng.normal(0, 1, 30), 1.0, swid=["066500280010"] * 30, ra_deg=83.633, dec_deg=22.014)
    lc.time_ijd[15:] += 0.05      # a gap: two GTIs
    path = write_lightcurve(tmp_path / "lc.fits", lc)
    back = read_lightcurve(path)
    for name in ("time_ijd", "timedel_s", "fracexp"):
        np.testing.assert_allclose(getattr(back, name), getattr(lc, name), rtol=1e-7, atol=1e-9)
    np.testing.assert_allclose(back.rate, lc.rate, rtol=1e-6)
    np.testing.assert_allclose(back.error, lc.error, rtol=1e-6)
    assert back.source == "Test" and back.instrument == "ISGR" and back.e_max_kev == 40.0
    assert list(back.swid) == ["066500280010"] * 30
    with fits.open(path) as h:
        r = h["RATE"].header
        assert (r["HDUCLASS"], r["HDUCLAS1"], r["HDUCLAS3"], r["TIMESYS"], r["MJDREF"]) == \
            ("OGIP", "LIGHTCURVE", "RATE", "TT", 51544.0)
        assert r["TIMEPIXR"] == 0.5 and r["TIMEZERO"] == 0.0 and r["TIMEUNIT"] == "d"
        assert r["TIMEDEL"] == pytest.approx(100.0 / DAY) and r["TSTART"] == pytest.approx(lc.tstart_ijd[0], abs=1e-9)
        assert r["EXPOSURE"] == pytest.approx(30 * 70.0) and r["INSTRUME"] == "IBIS"
        assert {"TIME", "TIMEDEL", "RATE", "ERROR", "FRACEXP", "BACKV"} <= set(h["RATE"].columns.names)
        assert len(h["GTI"].data) == 2


def test_reader_handles_seconds_timezero_and_bin_start_stamps(tmp_path):
    cols = [fits.Column("TIME", "D", unit="s", array=[0.0, 10.0]), fits.Column("RATE", "E", array=[1.0, 2.0]),
            fits.Column("ERROR", "E", array=[0.1, 0.1])]
    hdu = fits.BinTableHDU.from_columns(cols, name="RATE")
    hdu.header.update({"MJDREFI": 51544, "MJDREFF": 0.5, "TIMEZERO": 86400.0, "TIMEUNIT": "s", "TIMEDEL": 10.0,
                       "TIMESYS": "TT"})
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(tmp_path / "s.fits")
    lc = read_lightcurve(tmp_path / "s.fits")
    assert lc.time_ijd[0] == pytest.approx(1.5 + 5.0 / DAY, abs=1e-9) and lc.timedel_s[1] == pytest.approx(10.0)
    assert np.all(lc.fracexp == 1.0) and np.all(np.isnan(lc.backv))


def test_reader_errors_name_the_problem(tmp_path):
    bad = tmp_path / "bad.fits"
    bad.write_bytes(b"not a fits file at all" * 10)
    with pytest.raises(ValueError, match="bad.fits"):
        read_lightcurve(bad)
    with pytest.raises(ValueError, match="no such file"):
        read_lightcurve(tmp_path / "missing.fits")
    cols = [fits.Column("TIME", "D", array=[0.0]), fits.Column("RATE", "E", array=[1.0])]
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols, name="RATE")]).writeto(tmp_path / "e.fits")
    with pytest.raises(ValueError, match="ERROR"):
        read_lightcurve(tmp_path / "e.fits")
    cols.append(fits.Column("ERROR", "E", array=[1.0]))
    hdu = fits.BinTableHDU.from_columns(cols, name="RATE")
    hdu.header.update({"MJDREF": 51544.0, "TIMESYS": "UTC", "TIMEDEL": 1.0})
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(tmp_path / "utc.fits")
    with pytest.raises(ValueError, match="TIMESYS"):
        read_lightcurve(tmp_path / "utc.fits")


@needs_shared_data()
def test_real_jemx_light_curve_reads_and_is_constant(tmp_path):
    lc = read_lightcurve(JEMX_LC)
    assert len(lc) == 96 and lc.instrument == "JMX1" and (lc.e_min_kev, lc.e_max_kev) == (3.04, 34.88)
    np.testing.assert_allclose(lc.timedel_s, 20.0, atol=1e-3)
    with fits.open(JEMX_LC) as h:
        hdr = h["JMX1-SRC.-LCR"].header
        raw = h["JMX1-SRC.-LCR"].data["TIME"]
    np.testing.assert_allclose(lc.time_ijd, raw)          # TIMEPIXR 0.5: TIME already marks the centre
    assert hdr["TSTART"] <= lc.tstart_ijd.min() and lc.tstop_ijd.max() <= hdr["TSTOP"]
    ct = L.constancy_test(lc)
    assert ct.mean == pytest.approx(hdr["SRCCNT"], rel=0.02) and ct.p_value > 0.01
    assert np.all(np.isfinite(lc.backv))                    # OSA's BRATE became BACKV
    out = write_lightcurve(tmp_path / "jemx.fits.gz", lc)   # and rewriting it as OGIP works
    with gzip.open(out) as fh:
        assert fh.read(6) == b"SIMPLE"
    again = read_lightcurve(out)
    np.testing.assert_allclose(again.time_ijd, lc.time_ijd, atol=1e-9)
    np.testing.assert_allclose(again.rate, lc.rate, rtol=1e-6)


# ------------------------------------------------------------------- the real simulation chain
def test_injected_flare_recovered_through_the_simulator_and_shadowgram_fits(tmp_path):
    from skygallery.archive.lc_scenario import flaring_source_run
    r = flaring_source_run(tmp_path, n_scw=4, time_bin_s=300.0)
    lc = r.lightcurve
    assert len(lc) == 24 and set(np.round(lc.timedel_s)) == {300.0}
    # χ² against the injected curve: consistent with its distribution (χ²/dof ≈ 1)
    assert r.dof == 24 and 1e-3 < stats.chi2.sf(r.chi2, r.dof) < 0.999
    chi2_scw, n_scw = r.per_scw_truth_chi2
    assert n_scw == 4 and stats.chi2.sf(chi2_scw, n_scw) > 1e-3
    assert L.constancy_test(lc).p_value < 1e-10
    fv = L.fractional_variability(lc)
    assert fv.fvar > 10 * fv.fvar_error
    assert len(r.flares) == 1
    flare = r.flares[0]
    assert flare.start_ijd <= r.peak_ijd <= flare.stop_ijd
    assert abs(flare.peak_ijd - r.peak_ijd) * DAY <= 300.0
    assert np.all(np.isfinite(lc.backv)) and np.all((lc.fracexp > 0.69) & (lc.fracexp < 0.71))


def test_constant_source_false_positive_rate_through_the_chain():
    from skygallery.archive.lc_scenario import constant_source_pvalues
    p = constant_source_pvalues(40, seed=0)
    # 5 % expected at p < 0.05: binomial(40, 0.05) stays ≤ 7 with probability 99.1 %
    assert int(np.sum(p < 0.05)) <= 7
    assert stats.kstest(p, "uniform").pvalue > 1e-3
