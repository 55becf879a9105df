"""Iterative cleaning of a ScW shadowgram (the OSA ``ii_skyimage`` loop, re-implemented).

1. Candidates: reference-catalog sources inside the field of view (coded fraction ≥
   ``min_coded_fraction``) come first; new excesses are searched in the same region.
2. Fit: the shadowgram is modelled as Σ_m b_m·W·[module m] + g_x·W·x + g_y·W·y + Σ_k R_k·shadow_k,
   with b_m a flat level per detector module, (g_x, g_y) a linear background gradient across
   the detector (unmodelled, it correlates with the partial shadows of off-axis sources and
   biases their rates by ~10 %) and shadow_k the expected counts of source k at unit rate
   (:func:`~.shadow.source_shadow`: PIF, partial coding, efficiency); weighted linear least
   squares (weights 1/model from a first unweighted pass). R_k is the source rate (counts/s,
   on-axis equivalent) and its error comes from the fit covariance.
3. Catalog sources whose fitted significance stays below ``keep_sigma`` are dropped (refit).
4. The fitted model (module levels and source shadows: main peak, sidelobes and coding-noise
   ghosts all at once) is subtracted from the shadowgram and the residual is decoded; the brightest residual excess above
   ``excess_sigma`` becomes a new source at its PSF-fitted sub-pixel position; back to 2.
   Stops when no excess remains or after ``max_new`` additions.
5. Outputs: RESIDUAL = decoded residual; INTENSITY = RESIDUAL + each source's main lobe
   (the decoded noise-free PSF at the source's sub-pixel offset, on a 0.05-pixel grid, scaled
   to its fitted rate, within ``restore_radius_pix``).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from ..attitude import Pointing, instrument_angles, scw_wcs
from ..detect import fit_gaussian_peak
from ..instruments.geometry import CodedMaskInstrument
from ..instruments.response import coded_fraction
from .decode import DecodedImage, decode
from .shadow import instrument_angles_of_pixel, source_shadow

__all__ = ["CleanConfig", "CleanSource", "CleanResult", "clean_scw"]


@dataclass(frozen=True)
class CleanConfig:
    """Cleaning parameters: excesses in σ, coded fraction 0..1, restore radius in sky pixels."""

    excess_sigma: float = 6.0
    keep_sigma: float = 3.0
    max_new: int = 10
    min_coded_fraction: float = 0.05
    restore_radius_pix: float = 2.5


@dataclass
class CleanSource:
    """A source of the cleaning model; angles in degrees, rate in counts/s."""

    name: str
    ra_deg: float
    dec_deg: float
    theta_y: float
    theta_x: float
    rate: float = math.nan
    rate_err: float = math.nan
    from_catalog: bool = True


@dataclass
class CleanResult:
    intensity: np.ndarray
    residual: np.ndarray
    decoded: DecodedImage
    sources: list[CleanSource] = field(default_factory=list)
    module_levels: np.ndarray | None = None


def _module_columns(inst: CodedMaskInstrument) -> np.ndarray:
    """Background templates: one flat level per module, then x and y gradients (×efficiency)."""
    from ..simulate.events import module_map
    modules = module_map(inst)
    ny, nx = modules.shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    flat = [(modules == m) * inst.efficiency for m in range(modules.max() + 1)]
    grads = [((xx - (nx - 1) / 2) / nx) * inst.efficiency, ((yy - (ny - 1) / 2) / ny) * inst.efficiency]
    return np.stack(flat + grads)


def _fit(d, inst, exposure_s, sources, modules):
    """Weighted LSQ of module levels + source rates; returns (levels, rates, errors, model)."""
    good = inst.efficiency > 0
    cols = [m[good] for m in modules] + [source_shadow(inst, s.theta_y, s.theta_x, 1.0, exposure_s)[good]
                                         for s in sources]
    a = np.stack(cols, axis=1)
    y = d[good]
    coef = np.linalg.lstsq(a, y, rcond=None)[0]
    model = np.clip(a @ coef, 1.0, None)
    w = 1.0 / np.sqrt(model)
    coef, *_ = np.linalg.lstsq(a * w[:, None], y * w, rcond=None)
    cov = np.linalg.pinv((a * w[:, None]).T @ (a * w[:, None]))
    full = np.zeros_like(d)
    full[good] = a @ coef
    n_mod = len(modules)
    return coef[:n_mod], coef[n_mod:], np.sqrt(np.clip(np.diag(cov)[n_mod:], 0, None)), full, a[:, n_mod:], coef


def _catalog_candidates(catalog, pointing: Pointing, inst, cfg) -> list[CleanSource]:
    if catalog is None:
        return []
    out = []
    for src, _ in catalog.nearest(pointing.ra_deg, pointing.dec_deg, 16.0):
        ty, tx = (float(v) for v in instrument_angles(pointing, src.ra_deg, src.dec_deg, inst.sky_pixel_deg))
        if abs(ty) < 15 and abs(tx) < 15 and float(coded_fraction(inst, ty, tx)) >= cfg.min_coded_fraction:
            out.append(CleanSource(src.name, src.ra_deg, src.dec_deg, ty, tx))
    return out


def _fit_and_prune(d, inst, exposure_s, sources, modules, cfg):
    while True:
        levels, rates, errs, model, _, _ = _fit(d, inst, exposure_s, sources, modules)
        weak = [i for i, s in enumerate(sources) if s.from_catalog and not rates[i] > cfg.keep_sigma * errs[i]]
        if not weak:
            break
        sources = [s for i, s in enumerate(sources) if i not in weak]
    for s, r, e in zip(sources, rates, errs):
        s.rate, s.rate_err = float(r), float(e)
    return sources, levels, model


def _new_excess(residual: np.ndarray, raw: DecodedImage, inst, pointing, cfg, n) -> CleanSource | None:
    sig = np.where(raw.coded_fraction >= cfg.min_coded_fraction, _ratio(residual, raw.variance), 0.0)
    y, x = np.unravel_index(np.argmax(sig), sig.shape)
    if sig[y, x] < cfg.excess_sigma:
        return None
    width0 = inst.psf_fwhm_arcmin / 60.0 / inst.sky_pixel_deg / 2.3548
    xc, yc, _, _ = fit_gaussian_peak(sig, sig != 0, int(y), int(x), max(width0, 0.8), 3)
    ty, tx = instrument_angles_of_pixel(inst, yc, xc, sig.shape)
    ra, dec = (float(v) for v in scw_wcs(pointing, sig.shape, inst.sky_pixel_deg).pixel_to_world_values(xc, yc))
    return CleanSource(f"excess_{n}", ra % 360.0, dec, ty, tx, from_catalog=False)


TEMPLATE_STEP_PIX = 0.05


@functools.lru_cache(maxsize=1024)
def _psf_template(inst: CodedMaskInstrument, half: int, dy10: int, dx10: int) -> np.ndarray:
    """Main lobe ((2·half+1)² pixels) of a decoded noise-free unit-rate source placed
    (dy10, dx10)·TEMPLATE_STEP_PIX from the on-axis pixel (sub-pixel offsets on a 0.05-pixel grid)."""
    k = inst.detector.pitch_mm / inst.mask.distance_mm
    ty = math.degrees(math.atan(dy10 * TEMPLATE_STEP_PIX * k))
    tx = math.degrees(math.atan(dx10 * TEMPLATE_STEP_PIX * k))
    image = decode(source_shadow(inst, ty, tx, 1.0, 1000.0), inst, 1000.0).intensity
    cy, cx = (image.shape[0] - 1) // 2, (image.shape[1] - 1) // 2
    return image[cy - half:cy + half + 1, cx - half:cx + half + 1].copy()


def _restore(residual, inst, exposure_s, sources, cfg):
    """Residual + each source's main lobe (decoded near-axis PSF at the source's sub-pixel offset,
    scaled to the fitted rate), within ``restore_radius_pix``."""
    out = residual.copy()
    half = int(math.ceil(cfg.restore_radius_pix)) + 1
    k = inst.detector.pitch_mm / inst.mask.distance_mm
    cy, cx = (residual.shape[0] - 1) / 2.0, (residual.shape[1] - 1) / 2.0
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1]
    for s in sources:
        py = cy + math.tan(math.radians(s.theta_y)) / k
        px = cx + math.tan(math.radians(s.theta_x)) / k
        iy, ix = int(round(py)), int(round(px))
        if not (half <= iy < residual.shape[0] - half and half <= ix < residual.shape[1] - half):
            continue
        dy10, dx10 = int(round((py - iy) / TEMPLATE_STEP_PIX)), int(round((px - ix) / TEMPLATE_STEP_PIX))
        lobe = _psf_template(inst, half, dy10, dx10) * s.rate
        lobe[(yy - (py - iy)) ** 2 + (xx - (px - ix)) ** 2 > cfg.restore_radius_pix ** 2] = 0.0
        out[iy - half:iy + half + 1, ix - half:ix + half + 1] += lobe
    return out


def clean_scw(shadowgram: np.ndarray, inst: CodedMaskInstrument, exposure_s: float, pointing: Pointing,
              catalog=None, config: CleanConfig = CleanConfig()) -> CleanResult:
    """Clean one ScW shadowgram (see the module docstring)."""
    modules = _module_columns(inst)
    sources = _catalog_candidates(catalog, pointing, inst, config)
    raw = decode(shadowgram, inst, exposure_s)
    levels, model = None, np.zeros_like(shadowgram)
    for n in range(config.max_new + 1):
        sources, levels, model = _fit_and_prune(shadowgram, inst, exposure_s, sources, modules, config)
        residual = np.where(raw.variance > 0, decode(shadowgram - model, inst, exposure_s).intensity, 0.0)
        new = _new_excess(residual, raw, inst, pointing, config, n + 1) if n < config.max_new else None
        if new is None:
            break
        sources.append(new)
    intensity = _restore(residual, inst, exposure_s, sources, config)
    decoded = DecodedImage(intensity, raw.variance, _ratio(intensity, raw.variance), raw.exposure,
                           raw.coded_fraction, inst.sky_pixel_deg, exposure_s)
    return CleanResult(intensity, residual, decoded, sources, levels)


def _ratio(intensity, variance):
    out = np.zeros_like(intensity)
    good = variance > 0
    out[good] = intensity[good] / np.sqrt(variance[good])
    return out
