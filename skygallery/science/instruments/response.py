"""Geometric response of a coded-mask instrument: shadow offsets, PIF and coded fraction.

A source at instrument angles (θ_y, θ_x) (degrees from the pointing axis along the detector
y and x axes) casts the mask point u onto the detector at u − D·tan θ (D = mask distance).
Because mask cells and detector pixels are both axis-aligned rectangles, the area of pixel k
seen through cell m is the product of the 1-D interval overlaps along x and y; the pixel
illumination fraction is therefore exactly

    PIF = O_y · T · O_xᵀ / active_area,     O[k, m] = |pixel_k ∩ (cell_m − D tan θ)|

with T the mask transmission raster. Cells outside the raster are opaque (partial coding);
pixels on gaps or outside the detector get 0. The coded fraction of a direction is the share
of the valid detector area that sees it through the mask area (open or not).
"""
from __future__ import annotations

import math

import numpy as np

from .geometry import CodedMaskInstrument

__all__ = ["direction_to_offset_mm", "offset_to_direction_deg", "overlap_matrix", "pif", "coded_fraction"]


def direction_to_offset_mm(theta_deg, distance_mm: float):
    """Shadow displacement (mm) on the detector for an off-axis angle (deg): D·tan θ."""
    theta = np.asarray(theta_deg, dtype=float)
    if np.any(np.abs(theta) >= 90):
        raise ValueError(f"theta: off-axis angle must be within ±90 deg, got {theta_deg!r}")
    return distance_mm * np.tan(np.radians(theta))


def offset_to_direction_deg(offset_mm, distance_mm: float):
    """Inverse of :func:`direction_to_offset_mm`."""
    return np.degrees(np.arctan(np.asarray(offset_mm, dtype=float) / distance_mm))


def overlap_matrix(pix_lo, pix_hi, cell_lo, cell_hi) -> np.ndarray:
    """[k, m] length of the overlap of interval k (pixels) with interval m (cells)."""
    lo = np.maximum(pix_lo[:, None], cell_lo[None, :])
    hi = np.minimum(pix_hi[:, None], cell_hi[None, :])
    return np.clip(hi - lo, 0.0, None)


def _overlaps(inst: CodedMaskInstrument, theta_y_deg: float, theta_x_deg: float):
    shift_y = float(direction_to_offset_mm(theta_y_deg, inst.mask.distance_mm))
    shift_x = float(direction_to_offset_mm(theta_x_deg, inst.mask.distance_mm))
    py_lo, py_hi = inst.detector.pixel_bounds_mm(0)
    px_lo, px_hi = inst.detector.pixel_bounds_mm(1)
    cy_lo, cy_hi = inst.mask.cell_bounds_mm(0)
    cx_lo, cx_hi = inst.mask.cell_bounds_mm(1)
    oy = overlap_matrix(py_lo, py_hi, cy_lo - shift_y, cy_hi - shift_y)
    ox = overlap_matrix(px_lo, px_hi, cx_lo - shift_x, cx_hi - shift_x)
    return oy, ox


def pif(inst: CodedMaskInstrument, theta_y_deg: float, theta_x_deg: float) -> np.ndarray:
    """Pixel illumination fraction [y, x] (0..1) for a source at the given instrument angles."""
    oy, ox = _overlaps(inst, theta_y_deg, theta_x_deg)
    area = inst.detector.active_mm ** 2
    return (oy @ inst.mask.transmission @ ox.T) / area * inst.detector.valid


def coded_fraction(inst: CodedMaskInstrument, theta_y_deg, theta_x_deg) -> np.ndarray:
    """Fraction (0..1) of the valid detector area that sees each direction through the mask area."""
    ty, tx = np.broadcast_arrays(np.asarray(theta_y_deg, float), np.asarray(theta_x_deg, float))
    valid = inst.detector.valid
    n_valid = valid.sum()
    out = np.empty(ty.shape)
    ones = np.ones_like(inst.mask.transmission)
    area = inst.detector.active_mm ** 2
    for idx in np.ndindex(ty.shape):
        oy, ox = _overlaps(inst, ty[idx], tx[idx])
        out[idx] = min(1.0, float(((oy @ ones @ ox.T) / area * valid).sum() / n_valid))
    return out


def fully_coded_half_width_deg(inst: CodedMaskInstrument, axis: int = 1) -> float:
    """Half-width (deg) of the fully coded field along an axis: (mask − detector) / 2 / D."""
    mask_mm = inst.mask.transmission.shape[axis] * inst.mask.cell_mm
    det_mm = inst.detector.shape[axis] * inst.detector.pitch_mm
    return math.degrees(math.atan((mask_mm - det_mm) / 2.0 / inst.mask.distance_mm))
