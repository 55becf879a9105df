"""SPI-ACS: simulated streams, the MMODA file format, the real GRB 230307A file, and the burst
search (injection–recovery completeness, false positives)."""
from __future__ import annotations

import numpy as np
import pytest

from skygallery.science.spiacs import (
    AcsBackground,
    AcsLightCurve,
    BurstSearchConfig,
    GrbPulse,
    read_acs_fits,
    search_bursts,
    simulate_acs,
    write_acs_fits,
)
from skygallery.science.spiacs.simulate import orbital_phase, pulse_counts
from skygallery.science.spiacs.validation import (
    completeness,
    injection_trials,
    noise_only_false_positives,
)
from skygallery.science.timesys import from_ijd, ijd, isot
from tests.conftest import SHARED_DATA, needs_shared_data

GRB_FILE = SHARED_DATA / "spiacs" / "spiacs_lc_grb230307a.fits"
GRB_TRIGGER = "2023-03-07T15:44:06"
T0 = ijd("2023-03-07T15:40:00")


# ------------------------------------------------------------------------------------ simulation
def test_stream_is_seeded_with_the_documented_level_and_noise():
    a = simulate_acs(T0, 120.0, seed=3)
    b = simulate_acs(T0, 120.0, seed=3)
    np.testing.assert_array_equal(a.counts, b.counts)
    assert len(a) == 2400 and a.width_s == 0.05 and a.time_s[0] == pytest.approx(0.025)
    expected = AcsBackground().rate(orbital_phase(a.time_ijd)) * 0.05
    assert 7e4 < a.rate.mean() < 1.2e5
    noise = (a.counts - expected) / np.sqrt(expected)
    assert abs(noise.mean()) < 0.1 and noise.std() == pytest.approx(1.57, rel=0.05)
    assert not np.array_equal(a.counts, simulate_acs(T0, 120.0, seed=4).counts)


def test_background_follows_the_orbit():
    bkg = AcsBackground()
    phase = np.linspace(0, 1, 101)
    rate = bkg.rate(phase)
    assert rate[0] == rate.max() and rate[50] == pytest.approx(9e4 * (1 - 0.04), rel=1e-3)
    assert orbital_phase([T0])[0] == pytest.approx(orbital_phase([T0 + 2.659])[0], abs=0.01)


def test_pulse_shape_fluence_and_peak():
    p = GrbPulse(10.0, 5e4, 0.5, 3.0)
    assert p.rate([10.0])[0] == pytest.approx(5e4)
    t = np.arange(0, 200, 0.001)
    assert np.trapezoid(p.rate(t), t) == pytest.approx(p.fluence_counts, rel=1e-4)
    assert pulse_counts([p], np.arange(0.025, 200, 0.05), 0.05).sum() == pytest.approx(p.fluence_counts, rel=1e-3)
    assert 3 < p.t90_s < 12
    with pytest.raises(ValueError, match="tau"):
        GrbPulse(0.0, 1.0, 0.0, 1.0)


def test_bad_simulation_requests_name_the_field():
    with pytest.raises(ValueError, match="duration"):
        simulate_acs(T0, -5.0)
    with pytest.raises(ValueError, match="duration"):
        simulate_acs(T0, 5 * 86400.0)
    with pytest.raises(ValueError, match="noise_factor"):
        AcsBackground(noise_factor=0.5)


# ------------------------------------------------------------------------------ stream and files
def test_rebin_conserves_counts_and_rejects_non_multiples():
    lc = simulate_acs(T0, 60.0, seed=1)
    r = lc.rebin(1.0)
    assert len(r) == 60 and r.width_s == pytest.approx(1.0)
    assert r.counts.sum() == pytest.approx(lc.counts.sum())
    assert r.time_s[0] == pytest.approx(0.5)
    with pytest.raises(ValueError, match="bin"):
        lc.rebin(0.07)
    with pytest.raises(ValueError, match="window"):
        lc.window(10.0, 5.0)
    assert len(lc.window(10.0, 20.0)) == 200


def test_write_read_round_trip(tmp_path):
    lc = simulate_acs(T0, 30.0, [GrbPulse(15.0, 3e4, 0.2, 1.0)], seed=2)
    back = read_acs_fits(write_acs_fits(tmp_path / "acs.fits", lc))
    assert back.tref_ijd == pytest.approx(lc.tref_ijd, abs=1e-9)
    np.testing.assert_allclose(back.time_s, lc.time_s)
    np.testing.assert_allclose(back.counts, lc.counts, rtol=1e-12)
    assert back.width_s == lc.width_s and back.meta["INSTRUME"] == "SPI-ACS"


def test_reader_errors(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        read_acs_fits(tmp_path / "none.fits")
    junk = tmp_path / "junk.fits"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(ValueError, match="junk.fits"):
        read_acs_fits(junk)
    with pytest.raises(ValueError, match="counts"):
        AcsLightCurve(0.0, [0.0, 1.0], 1.0, [1.0])


@needs_shared_data()
def test_real_grb_230307a_file_reads_with_the_right_times():
    lc = read_acs_fits(GRB_FILE)
    assert len(lc) == 5400 and lc.width_s == pytest.approx(0.1)
    assert lc.duration_s == pytest.approx(540.0, abs=0.2)
    assert isot(from_ijd(lc.tref_ijd + lc.time_s[0] / 86400), 0) == "2023-03-07T15:41:06"
    pre = lc.window(-270, -100)
    assert 8.5e4 < pre.rate.mean() < 9.5e4                  # the documented ≈ 9×10⁴ counts/s baseline


@needs_shared_data()
def test_real_grb_230307a_found_at_the_trigger_with_tens_of_seconds():
    lc = read_acs_fits(GRB_FILE)
    bursts = search_bursts(lc)
    assert len(bursts) == 1
    b = bursts[0]
    start_utc = from_ijd(lc.tref_ijd + b.t_start_s / 86400)
    assert abs((start_utc - from_ijd(ijd(GRB_TRIGGER))).sec) < 3.0
    assert 10.0 < b.t90_s < 100.0
    assert b.t_start_s <= b.t90_start_s < b.t_peak_s < b.t90_start_s + b.t90_s <= b.t_stop_s
    assert b.peak_sigma > 1000 and b.fluence_counts > 1e6 and b.significance > 100


# ----------------------------------------------------------------------------------- burst search
def test_injected_bursts_found_with_at_least_95_percent_completeness_above_10_sigma():
    trials = injection_trials(120, seed=7)
    frac, n = completeness(trials, 10.0)
    assert n >= 40 and frac >= 0.95
    assert sum(t.false_positives for t in trials) <= 2
    bright = [t for t in trials if t.found and t.expected_sigma >= 20]
    offsets = np.array([t.peak_offset_s for t in bright])
    assert np.median(np.abs(offsets)) < 2.0
    ratio = np.array([t.fluence_found / t.fluence_true for t in bright])
    assert abs(np.median(ratio) - 1) < 0.1


def test_no_bursts_in_pure_background():
    n, hours = noise_only_false_positives(12, 600.0, seed=1)
    assert hours == pytest.approx(2.0) and n == 0


def test_two_separated_bursts_are_reported_separately_with_their_t90():
    pulses = [GrbPulse(100.0, 4e4, 0.3, 2.0), GrbPulse(400.0, 2e4, 1.0, 8.0)]
    lc = simulate_acs(T0, 600.0, pulses, seed=5)
    found = search_bursts(lc)
    assert len(found) == 2
    for b, p in zip(found, pulses):
        assert b.t_start_s <= p.t_peak_s <= b.t_stop_s
        assert b.t90_s == pytest.approx(p.t90_s, rel=0.3)
        assert b.fluence_counts == pytest.approx(p.fluence_counts, rel=0.1)
        assert abs(b.fluence_counts - p.fluence_counts) < 4 * b.fluence_error


def test_search_config_and_input_checks():
    with pytest.raises(ValueError, match="threshold"):
        BurstSearchConfig(threshold_sigma=0)
    with pytest.raises(ValueError, match="background_order"):
        BurstSearchConfig(background_order=7)
    with pytest.raises(ValueError, match="counts"):
        search_bursts(simulate_acs(T0, 1.0, seed=0))
    lc = simulate_acs(T0, 300.0, [GrbPulse(150.0, 1.5e4, 0.3, 2.0)], seed=9)
    found = search_bursts(lc)
    assert len(found) == 1 and 10 < found[0].peak_sigma < 200
    assert search_bursts(lc, BurstSearchConfig(threshold_sigma=found[0].peak_sigma + 5)) == []
