"""Shadowgrams: binning detector events per energy band, and modelled source shadows.

A source of on-axis-equivalent rate R (counts/s) at instrument angles (θ_y, θ_x) puts, in a
ScW of exposure T (s), R·T/A · W·PIF counts in each pixel (A = Σ W·PIF on-axis, see
:mod:`.decode`): the same normalisation the decoder inverts, so a decoded source reads R.
"""
from __future__ import annotations

import numpy as np

from ..instruments.geometry import CodedMaskInstrument
from ..instruments.response import pif
from .decode import onaxis_area

__all__ = ["bin_shadowgram", "instrument_angles_of_pixel", "source_shadow"]


def bin_shadowgram(det_y: np.ndarray, det_x: np.ndarray, energy_kev: np.ndarray,
                   band_kev: tuple[float, float], shape: tuple[int, int]) -> np.ndarray:
    """Counts per detector pixel [y, x] of the events with E_MIN ≤ energy < E_MAX."""
    e1, e2 = band_kev
    if not (np.isfinite(e1) and np.isfinite(e2) and 0 <= e1 < e2):
        raise ValueError(f"band: E_MIN must be < E_MAX and both >= 0 keV, got {e1!r}-{e2!r}")
    sel = (energy_kev >= e1) & (energy_kev < e2)
    ny, nx = shape
    y, x = det_y[sel].astype(np.int64), det_x[sel].astype(np.int64)
    inside = (y >= 0) & (y < ny) & (x >= 0) & (x < nx)
    flat = np.bincount(y[inside] * nx + x[inside], minlength=ny * nx)
    return flat.reshape(ny, nx).astype(float)


def source_shadow(inst: CodedMaskInstrument, theta_y_deg: float, theta_x_deg: float, rate_counts_s: float,
                  exposure_s: float) -> np.ndarray:
    """Expected counts [y, x] from one source (see the module docstring)."""
    return rate_counts_s * exposure_s / onaxis_area(inst) * inst.efficiency * pif(inst, theta_y_deg, theta_x_deg)


def instrument_angles_of_pixel(inst: CodedMaskInstrument, sky_y: float, sky_x: float,
                               sky_shape: tuple[int, int], oversample: int = 1) -> tuple[float, float]:
    """(θ_y, θ_x) in degrees of a (fractional) pixel of the decoded sky grid (``oversample``
    sky pixels per detector pitch)."""
    cy, cx = (sky_shape[0] - 1) / 2.0, (sky_shape[1] - 1) / 2.0
    k = inst.detector.pitch_mm / inst.mask.distance_mm / oversample
    return float(np.degrees(np.arctan((sky_y - cy) * k))), float(np.degrees(np.arctan((sky_x - cx) * k)))
