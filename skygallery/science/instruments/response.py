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

__all__ = ["coded_fraction", "direction_to_offset_mm", "offset_to_direction_deg", "overlap_matrix", "pif"]


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
    """Pixel illumination fraction [y, x] (0..1) for a source at the given instrument angles.

    The overlap matrices have a handful of non-zeros per row (a pixel meets at most
    ⌈pitch/cell⌉ + 1 cells), so both products are done as sparse × dense."""
    from scipy import sparse
    oy, ox = _overlaps(inst, theta_y_deg, theta_x_deg)
    area = inst.detector.active_mm ** 2
    rows = sparse.csr_matrix(oy) @ inst.mask.transmission          # [y, mask x]
    out = np.asarray((sparse.csr_matrix(ox) @ rows.T).T)            # [y, x]
    return out / area * inst.detector.valid


def coded_fraction(inst: CodedMaskInstrument, theta_y_deg, theta_x_deg) -> np.ndarray:
    """Fraction (0..1) of the valid detector area that sees each direction through the mask area.

    The mask *area* (open or not) is a rectangle, so the seen area of pixel (y, x) is the
    product a_y·b_x of the 1-D overlaps with the mask extent: coded = aᵀ·valid·b / (area·N_valid)."""
    ty, tx = np.broadcast_arrays(np.asarray(theta_y_deg, float), np.asarray(theta_x_deg, float))
    valid = inst.detector.valid.astype(float)
    n_valid = valid.sum()
    out = np.empty(ty.shape)
    area = inst.detector.active_mm ** 2
    for idx in np.ndindex(ty.shape):
        oy, ox = _overlaps(inst, ty[idx], tx[idx])
        out[idx] = min(1.0, float(oy.sum(axis=1) @ valid @ ox.sum(axis=1)) / area / n_valid)
    return out


def fully_coded_half_width_deg(inst: CodedMaskInstrument, axis: int = 1) -> float:
    """Half-width (deg) of the fully coded field along an axis: (mask − detector) / 2 / D."""
    mask_mm = inst.mask.transmission.shape[axis] * inst.mask.cell_mm
    det_mm = inst.detector.shape[axis] * inst.detector.pitch_mm
    return math.degrees(math.atan((mask_mm - det_mm) / 2.0 / inst.mask.distance_mm))
