"""Simulated SPI-ACS count-rate streams: orbital background, super-Poisson noise, GRB-like pulses.

Background (:class:`AcsBackground`, a documented simulation model, not a calibration): the rate
B(t) = B₀ · [1 + a·cos 2πφ + b·(e^(−φ/w) + e^(−(1−φ)/w))] counts/s with φ the orbital phase
(0 at perigee, from the revolution table of :mod:`skygallery.science.revolutions`). B₀ ≈ 9×10⁴
counts/s (``integral-facts.md``); the cosine term is the slow modulation along the orbit and the
exponentials the rise towards the radiation belts around perigee.

Noise: the ACS scatter is wider than Poisson (σ ≈ 1.57·√B per 50 ms bin, facts file; caused by
multi-crystal cosmic-ray events). With λ ≈ 4500 counts per 50 ms the Poisson law is already
Gaussian, so counts per bin = round(λ + f·√λ·N(0, 1)) with f = ``noise_factor`` = 1.57: white
noise with variance f²·λ per bin.

Pulses (:class:`GrbPulse`): the Norris et al. (2005, ApJ 627, 324) pulse
I(t) = A·λ·exp(−τ₁/(t − tₛ) − (t − tₛ)/τ₂) for t > tₛ, λ = exp(2√(τ₁/τ₂)), which peaks at
A (counts/s) at t_peak = tₛ + √(τ₁τ₂) — a fast rise and exponential decay (FRED). Its integral
(counts) is A·λ·2√(τ₁τ₂)·K₁(2√(τ₁/τ₂)). Expected counts per bin are the pulse averaged over
``SUBSAMPLES`` points in the bin. One ``numpy.random.Generator`` seeded by ``seed`` draws
everything: same seed, same stream.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.special import k1

from ..revolutions import RevolutionTable, default_table
from .stream import DAY_S, NATIVE_BIN_S, AcsLightCurve

__all__ = ["MAX_DURATION_S", "AcsBackground", "GrbPulse", "orbital_phase", "pulse_counts", "simulate_acs"]

SUBSAMPLES = 5
MAX_DURATION_S = 2 * DAY_S


@dataclass(frozen=True)
class AcsBackground:
    """Background model (module docstring): level counts/s, relative amplitudes, phase scale."""

    level_counts_s: float = 9.0e4
    orbit_amplitude: float = 0.04
    belt_amplitude: float = 0.5
    belt_scale: float = 0.03
    noise_factor: float = 1.57

    def __post_init__(self):
        if not self.level_counts_s > 0:
            raise ValueError(f"background: level must be > 0 counts/s, got {self.level_counts_s!r}")
        if not self.noise_factor >= 1:
            raise ValueError(f"noise_factor: must be >= 1 (Poisson), got {self.noise_factor!r}")
        if not self.belt_scale > 0:
            raise ValueError(f"belt_scale: must be > 0, got {self.belt_scale!r}")

    def rate(self, phase) -> np.ndarray:
        """Counts/s at orbital phase(s) ``phase`` (0..1, 0 = perigee)."""
        p = np.mod(np.asarray(phase, float), 1.0)
        belts = np.exp(-p / self.belt_scale) + np.exp(-(1.0 - p) / self.belt_scale)
        return self.level_counts_s * (1.0 + self.orbit_amplitude * np.cos(2 * np.pi * p)
                                      + self.belt_amplitude * belts)


@dataclass(frozen=True)
class GrbPulse:
    """A Norris (2005) pulse: peak time (s after the stream reference), peak rate (counts/s
    above background), rise and decay constants τ₁, τ₂ (s)."""

    t_peak_s: float
    peak_counts_s: float
    tau1_s: float
    tau2_s: float

    def __post_init__(self):
        if not (self.tau1_s > 0 and self.tau2_s > 0):
            raise ValueError(f"pulse: tau1 and tau2 must be > 0 s, got {self.tau1_s!r}, {self.tau2_s!r}")
        if not self.peak_counts_s >= 0:
            raise ValueError(f"pulse: peak rate must be >= 0 counts/s, got {self.peak_counts_s!r}")

    @property
    def t_start_s(self) -> float:
        """tₛ: the pulse onset."""
        return self.t_peak_s - math.sqrt(self.tau1_s * self.tau2_s)

    @property
    def fluence_counts(self) -> float:
        """∫ I dt in counts."""
        x = 2.0 * math.sqrt(self.tau1_s / self.tau2_s)
        return self.peak_counts_s * math.exp(x) * 2.0 * math.sqrt(self.tau1_s * self.tau2_s) * float(k1(x))

    def rate(self, t_s) -> np.ndarray:
        """Counts/s at times ``t_s`` (s after the stream reference)."""
        dt = np.asarray(t_s, float) - self.t_start_s
        lam = math.exp(2.0 * math.sqrt(self.tau1_s / self.tau2_s))
        out = np.zeros_like(dt)
        pos = dt > 0
        out[pos] = self.peak_counts_s * lam * np.exp(-self.tau1_s / dt[pos] - dt[pos] / self.tau2_s)
        return out

    def quantile_time(self, q: float, grid_s: float = 0.01) -> float:
        """Time (s) at which a fraction ``q`` of the fluence has arrived (for true T90)."""
        t = np.arange(self.t_start_s, self.t_peak_s + 60 * self.tau2_s + 10 * self.tau1_s, grid_s)
        cum = np.cumsum(self.rate(t)) * grid_s
        return float(np.interp(q * cum[-1], cum, t))

    @property
    def t90_s(self) -> float:
        return self.quantile_time(0.95) - self.quantile_time(0.05)


def orbital_phase(t_ijd, table: RevolutionTable | None = None) -> np.ndarray:
    """Orbital phase (0 = perigee) at IJD(s) ``t_ijd`` from the revolution table."""
    table = table or default_table()
    t = np.atleast_1d(np.asarray(t_ijd, float))
    rev = table.revolution_of_ijd(float(t[0]))
    start, period = table.start_ijd(rev), table.period(rev)
    return np.mod((t - start) / period, 1.0)


def pulse_counts(pulses: Sequence[GrbPulse], time_s: np.ndarray, width_s: float) -> np.ndarray:
    """Expected pulse counts per bin (bin centres ``time_s``, width ``width_s``)."""
    out = np.zeros(time_s.size)
    offsets = (np.arange(SUBSAMPLES) + 0.5) / SUBSAMPLES - 0.5
    for p in pulses:
        t_end = p.t_peak_s + 60.0 * p.tau2_s + 10.0 * p.tau1_s
        lo, hi = np.searchsorted(time_s, [p.t_start_s - width_s, t_end + width_s])
        if hi <= lo:
            continue
        sub = time_s[lo:hi, None] + offsets[None, :] * width_s
        out[lo:hi] += p.rate(sub).mean(axis=1) * width_s
    return out


def simulate_acs(tstart_ijd: float, duration_s: float, pulses: Sequence[GrbPulse] = (),
                 background: AcsBackground | None = None, seed: int | Sequence[int] = 0,
                 bin_s: float = NATIVE_BIN_S,
                 table: RevolutionTable | None = None) -> AcsLightCurve:
    """A simulated stream of ``duration_s`` seconds from ``tstart_ijd`` (module docstring); times
    are relative to ``tstart_ijd``; ``meta`` records the model and the pulses."""
    if not (math.isfinite(duration_s) and 0 < duration_s <= MAX_DURATION_S):
        raise ValueError(f"duration: must be in (0, {MAX_DURATION_S:g}] s, got {duration_s!r}")
    if not (math.isfinite(bin_s) and bin_s > 0):
        raise ValueError(f"bin: must be > 0 s, got {bin_s!r}")
    n = round(duration_s / bin_s)
    if n < 1:
        raise ValueError(f"duration: {duration_s} s is shorter than one {bin_s} s bin")
    background = background or AcsBackground()
    time_s = (np.arange(n) + 0.5) * bin_s
    phase = orbital_phase(tstart_ijd + time_s / DAY_S, table)
    expected = background.rate(phase) * bin_s + pulse_counts(pulses, time_s, bin_s)
    rng = np.random.default_rng(seed)
    counts = np.rint(expected + background.noise_factor * np.sqrt(expected) * rng.standard_normal(n))
    meta = {"SIMULATE": True, "SEED": seed if isinstance(seed, int) else str(list(seed)),
            "NOISEFAC": background.noise_factor, "BKGLEVEL": background.level_counts_s, "NPULSES": len(pulses)}
    return AcsLightCurve(float(tstart_ijd), time_s, bin_s, np.clip(counts, 0, None), meta)
