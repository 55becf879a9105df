"""Balanced cross-correlation decoding of a shadowgram (FFT), after Fenimore & Cannon (1978)
and the OSA ``ii_skyimage`` description (Goldwurm et al. 2003, A&A 411, L223).

The mask raster is resampled onto cells of the detector pitch (``decoding_masks``): G⁺ is the
open fraction of each cell and G⁻ = support − G⁺ its closed fraction. For a sky shift s
(detector pixels; tan θ = s·pitch/D) and shadowgram D with efficiency weights W,

    S(s) = corr(D, G⁺)/corr(W, G⁺) − corr(D, G⁻)/corr(W, G⁻)
    Var S = corr(D, G⁺²)/c⁺² + corr(D, G⁻²)/c⁻² − 2 corr(D, G⁺G⁻)/(c⁺c⁻)   (Poisson D,
            c± = corr(W, G±))

so a flat background cancels (balanced). For a source centred on a sky pixel S = p₀·n, with n
its count per fully illuminated unit-efficiency pixel and p₀ < 1 the decoding efficiency lost
where mask-element edges cut detector pixels (the 4.0 mm active area and the 11.2/4.6 element
ratio; p₀ is computed once by decoding a noise-free on-axis shadow). INTENSITY = S·A/(p₀·T)
(counts/s as if on-axis and fully coded) with A = Σ W·PIF(on-axis) and T the exposure (s);
VARIANCE scales by (A/(p₀T))²; SIGNIFICANCE = I/√V.
EXPOSURE = T × coded fraction. The sky grid is a TAN projection about the pointing axis with
pixel atan(pitch/D) (ISGRI 4.937′), ``n_mask + n_det − 1`` pixels per axis, on-axis at its centre.
Sky pixels seen by less than ``min_coded_fraction`` of the detector are set to zero.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import fft as sfft

from ..instruments.geometry import CodedMaskInstrument
from ..instruments.response import overlap_matrix, pif

__all__ = ["DecodingMasks", "decoding_masks", "DecodedImage", "decode", "sky_shape", "onaxis_area",
           "decoding_efficiency"]


@dataclass(frozen=True, eq=False)
class DecodingMasks:
    """G⁺, G⁻ and mask support on detector-pitch cells, with their FFTs for a detector shape."""

    g_plus: np.ndarray
    g_minus: np.ndarray
    fft_shape: tuple[int, int]
    ffts: dict
    sky_shape: tuple[int, int]


def _resampled_mask(inst: CodedMaskInstrument) -> tuple[np.ndarray, np.ndarray]:
    p = inst.detector.pitch_mm
    out = []
    for axis in (0, 1):
        n_cells = int(math.ceil(inst.mask.transmission.shape[axis] * inst.mask.cell_mm / p))
        if (n_cells - inst.detector.shape[axis]) % 2:
            n_cells += 1   # keep the on-axis sky pixel at an integer position
        lo = (np.arange(n_cells) - n_cells / 2.0) * p
        c_lo, c_hi = inst.mask.cell_bounds_mm(axis)
        out.append(overlap_matrix(lo, lo + p, c_lo, c_hi) / p)
    oy, ox = out
    g_plus = oy @ inst.mask.transmission @ ox.T
    support = oy @ np.ones_like(inst.mask.transmission) @ ox.T
    return g_plus, support - g_plus


@functools.lru_cache(maxsize=8)
def _cached(inst_id: int, inst: CodedMaskInstrument) -> DecodingMasks:
    g_plus, g_minus = _resampled_mask(inst)
    n_d = inst.detector.shape
    shape = tuple(g_plus.shape[a] + n_d[a] - 1 for a in (0, 1))
    fft_shape = tuple(sfft.next_fast_len(n, real=True) for n in shape)
    ffts = {name: sfft.rfft2(arr, fft_shape) for name, arr in
            (("p", g_plus), ("m", g_minus), ("p2", g_plus ** 2), ("m2", g_minus ** 2),
             ("pm", g_plus * g_minus))}
    return DecodingMasks(g_plus, g_minus, fft_shape, ffts, shape)


def decoding_masks(inst: CodedMaskInstrument) -> DecodingMasks:
    """The (cached) decoding arrays of an instrument."""
    return _cached(id(inst), inst)


def sky_shape(inst: CodedMaskInstrument) -> tuple[int, int]:
    return decoding_masks(inst).sky_shape


def onaxis_area(inst: CodedMaskInstrument) -> float:
    """A = Σ W·PIF(on-axis): effectively illuminated pixels for an on-axis source."""
    return float((inst.efficiency * pif(inst, 0.0, 0.0)).sum())


@functools.lru_cache(maxsize=8)
def decoding_efficiency(inst: CodedMaskInstrument) -> float:
    """p₀: decoded peak of a noise-free on-axis source of unit count per illuminated pixel."""
    shadow = inst.efficiency * pif(inst, 0.0, 0.0)
    raw = _balanced(shadow, inst, decoding_masks(inst), 1)
    cy, cx = (raw[0].shape[0] - 1) // 2, (raw[0].shape[1] - 1) // 2
    return float(raw[0][cy, cx])


@dataclass
class DecodedImage:
    """Decoded sky maps on the instrument TAN grid ([y, x]); intensity in counts/s."""

    intensity: np.ndarray
    variance: np.ndarray
    significance: np.ndarray
    exposure: np.ndarray
    coded_fraction: np.ndarray
    pixel_deg: float
    exposure_s: float

    @property
    def centre(self) -> tuple[int, int]:
        return (self.intensity.shape[0] - 1) // 2, (self.intensity.shape[1] - 1) // 2


def _correlate(fft_rev: np.ndarray, mask_fft: np.ndarray, masks: DecodingMasks) -> np.ndarray:
    full = sfft.irfft2(fft_rev * mask_fft, masks.fft_shape)
    return full[:masks.sky_shape[0], :masks.sky_shape[1]]


def _balanced(d: np.ndarray, inst: CodedMaskInstrument, masks: DecodingMasks, workers: int):
    """(S, Var S, coded fraction, ok) of a shadowgram, before the intensity scaling."""
    w = inst.efficiency
    with sfft.set_workers(workers):
        fd = sfft.rfft2(d[::-1, ::-1], masks.fft_shape)
        fw = sfft.rfft2(w[::-1, ::-1], masks.fft_shape)
        cw_p, cw_m = _correlate(fw, masks.ffts["p"], masks), _correlate(fw, masks.ffts["m"], masks)
        cd_p, cd_m = _correlate(fd, masks.ffts["p"], masks), _correlate(fd, masks.ffts["m"], masks)
        cv_p, cv_m = _correlate(fd, masks.ffts["p2"], masks), _correlate(fd, masks.ffts["m2"], masks)
        cv_pm = _correlate(fd, masks.ffts["pm"], masks)
    total = w.sum()
    coded = (cw_p + cw_m) / total
    ok = (cw_p > 1e-6 * total) & (cw_m > 1e-6 * total)
    safe_p, safe_m = np.where(ok, cw_p, 1.0), np.where(ok, cw_m, 1.0)
    s = np.where(ok, cd_p / safe_p - cd_m / safe_m, 0.0)
    var = cv_p / safe_p ** 2 + cv_m / safe_m ** 2 - 2.0 * cv_pm / (safe_p * safe_m)
    return s, np.where(ok, np.clip(var, 0.0, None), 0.0), np.clip(coded, 0.0, 1.0), ok


def decode(shadowgram: np.ndarray, inst: CodedMaskInstrument, exposure_s: float,
           min_coded_fraction: float = 0.01, workers: int = 1) -> DecodedImage:
    """Decode a counts shadowgram [y, x] (see the module docstring)."""
    if shadowgram.shape != inst.detector.shape:
        raise ValueError(f"shadowgram: shape {shadowgram.shape} differs from the {inst.name} grid {inst.detector.shape}")
    if not exposure_s > 0:
        raise ValueError(f"exposure_s: must be > 0, got {exposure_s!r}")
    masks = decoding_masks(inst)
    d = np.where(inst.efficiency > 0, shadowgram, 0.0)
    s, var, coded, ok = _balanced(d, inst, masks, workers)
    ok &= coded >= min_coded_fraction
    scale = onaxis_area(inst) / (decoding_efficiency(inst) * exposure_s)
    intensity, variance = np.where(ok, s, 0.0) * scale, np.where(ok, var, 0.0) * scale ** 2
    good = variance > 0
    significance = np.zeros_like(intensity)
    significance[good] = intensity[good] / np.sqrt(variance[good])
    coded = np.where(ok, np.clip(coded, 0.0, 1.0), 0.0)
    return DecodedImage(intensity, variance, significance, exposure_s * coded, coded, inst.sky_pixel_deg, exposure_s)
