"""Injection–recovery of the SPI-ACS burst search (shared by the tests and the benchmarks).

Each trial simulates a stream (:func:`~.simulate.simulate_acs`) with one Norris pulse of random
shape (τ₁ log-uniform 0.03–10 s, τ₂ log-uniform 0.3–16 s) scaled to a chosen *expected*
significance: the largest, over the search timescales, of the noise-free pulse counts in the best
window divided by f·√B of that window (f = the simulated noise factor, B the background counts).
A pulse counts as found when a reported burst's extent overlaps the pulse's T90 interval (widened
by ``match_s``). Detections not matching the injected pulse are false positives.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .bursts import BurstSearchConfig, search_bursts
from .simulate import AcsBackground, GrbPulse, pulse_counts, simulate_acs

__all__ = ["Trial", "completeness", "expected_significance", "injection_trials", "noise_only_false_positives"]


@dataclass(frozen=True)
class Trial:
    """One injection: expected significance, found or not, true and measured T90 (s), fluences."""

    expected_sigma: float
    found: bool
    false_positives: int
    t90_true_s: float
    t90_found_s: float
    fluence_true: float
    fluence_found: float
    fluence_error: float
    peak_offset_s: float


def expected_significance(pulse: GrbPulse, time_s: np.ndarray, width_s: float, background_counts_s: float,
                          noise_factor: float, timescales_s) -> float:
    """Noise-free best-window significance of ``pulse`` (module docstring)."""
    excess = pulse_counts([pulse], time_s, width_s)
    cum = np.concatenate([[0.0], np.cumsum(excess)])
    best = 0.0
    for ts in timescales_s:
        k = max(1, round(ts / width_s))
        if k >= cum.size:
            continue
        window = float(np.max(cum[k:] - cum[:-k]))
        best = max(best, window / (noise_factor * math.sqrt(background_counts_s * k * width_s)))
    return best


def injection_trials(n_trials: int, seed: int = 0, duration_s: float = 300.0, sigma_range=(4.0, 40.0),
                     tstart_ijd: float = 8466.5, config: BurstSearchConfig | None = None,
                     background: AcsBackground | None = None, match_s: float = 2.0) -> list[Trial]:
    """``n_trials`` seeded single-pulse trials with expected significance log-uniform in ``sigma_range``."""
    cfg = config or BurstSearchConfig()
    background = background or AcsBackground()
    rng = np.random.default_rng([seed, 230307])
    out = []
    for i in range(n_trials):
        tau1, tau2 = 10 ** rng.uniform(-1.5, 1.0), 10 ** rng.uniform(-0.5, 1.2)
        t_peak = rng.uniform(0.3, 0.7) * duration_s
        target = 10 ** rng.uniform(*np.log10(sigma_range))
        plain = simulate_acs(tstart_ijd, duration_s, (), background, seed=[seed, i])
        b_rate = float(np.median(plain.rate))
        unit = expected_significance(GrbPulse(t_peak, 1.0, tau1, tau2), plain.time_s, plain.width_s, b_rate,
                                     background.noise_factor, cfg.timescales_s)
        pulse = GrbPulse(t_peak, target / unit, tau1, tau2)
        lc = simulate_acs(tstart_ijd, duration_s, [pulse], background, seed=[seed, i])
        found = search_bursts(lc, cfg)
        t05, t95 = pulse.quantile_time(0.05), pulse.quantile_time(0.95)
        hits = [b for b in found if b.t_start_s <= t95 + match_s and b.t_stop_s >= t05 - match_s]
        best = max(hits, key=lambda b: b.peak_sigma) if hits else None
        out.append(Trial(target, best is not None, len(found) - len(hits), pulse.t90_s,
                         best.t90_s if best else math.nan, pulse.fluence_counts,
                         best.fluence_counts if best else math.nan, best.fluence_error if best else math.nan,
                         (best.t_peak_s - t_peak) if best else math.nan))
    return out


def completeness(trials: list[Trial], min_sigma: float = 10.0, max_sigma: float = math.inf) -> tuple[float, int]:
    """(fraction found, number of trials) among trials with min ≤ expected σ < max."""
    sel = [t for t in trials if min_sigma <= t.expected_sigma < max_sigma]
    return (sum(t.found for t in sel) / len(sel) if sel else math.nan), len(sel)


def noise_only_false_positives(n_streams: int, duration_s: float = 600.0, seed: int = 0,
                               config: BurstSearchConfig | None = None, tstart_ijd: float = 8466.5) -> tuple[int, float]:
    """(bursts found, hours searched) on ``n_streams`` pure-background streams."""
    cfg = config or BurstSearchConfig()
    n = sum(len(search_bursts(simulate_acs(tstart_ijd, duration_s, (), seed=[seed, 99, i]), cfg))
            for i in range(n_streams))
    return n, n_streams * duration_s / 3600.0
