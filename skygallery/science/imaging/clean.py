"""Iterative cleaning of a ScW shadowgram (the OSA ``ii_skyimage`` loop, re-implemented).

1. Candidates: reference-catalog sources seen by any part of the detector (coded fraction ≥
   ``catalog_min_coded_fraction``, 0.2 %: a bright source at the very edge of the partially
   coded field still sends thousands of counts through the mask border, and left out of the
   model its shadow decodes into spurious excesses) come first; new excesses are searched
   where the coded fraction is ≥ ``min_coded_fraction``.
2. Fit: the shadowgram is modelled as Σ_m b_m·W·[module m] + g_x·W·x + g_y·W·y + Σ_k R_k·shadow_k,
   with b_m a flat level per detector module, (g_x, g_y) a linear background gradient across
   the detector (unmodelled, it correlates with the partial shadows of off-axis sources and
   biases their rates by ~10 %) and shadow_k the expected counts of source k at unit rate
   (:func:`~.shadow.source_shadow`: PIF, partial coding, efficiency); weighted linear least
   squares (weights 1/model from a first unweighted pass). R_k is the source rate (counts/s,
   on-axis equivalent) and its error comes from the fit covariance.
3. Catalog sources whose fitted significance stays below ``keep_sigma`` are dropped (refit).
4. The fitted model (module levels and source shadows: main peak, sidelobes and coding-noise
   ghosts all at once — for a bright source these "ghosts" are the periodic replicas of its
   peak that the cyclic MURA produces ≈ 53 mask elements away, and the coding noise of a
   random JEM-X mask) is subtracted from the shadowgram and the residual is decoded, its
   VARIANCE computed from the fitted model counts (the expectation, not the noisy counts);
   the brightest residual excess above ``excess_sigma`` becomes a new source at its
   PSF-fitted sub-pixel position; back to 2. Stops when no excess remains or after
   ``max_new`` additions.
5. Outputs, on a sky grid ``oversample`` times finer than the detector pitch
   (:func:`~.decode.decode`): RESIDUAL = decoded residual; INTENSITY = RESIDUAL + each source
   restored as a circular Gaussian *restoring beam* (Högbom's CLEAN) centred on its position,
   σ = the Gaussian width of the decoded on-axis main lobe (:func:`restoring_beam_sigma_pix`),
   out to ``restore_radius_pix`` detector pixels, scaled so that the pixel containing the
   source holds exactly its fitted rate — the source intensity OSA quotes as FLUX (the
   intensity at the source's pixel). Scaling does not move the beam's centroid. The decoded
   lobe itself has a cusp (the triangular autocorrelation of a mask element), so its sampled
   peak would depend on where the source falls between pixel centres (ISGRI −10 %, JEM-X
   −15 % at half a 4.94′/1.67′ pixel), as OSA's own 169 counts/s for the Crab in ScW
   066500280010 (0.45 px off centre, ≈ 188 at the true peak) shows.
   Mask screws and glue (the 0.2–1 % "ghosts" of Soldi et al. 2013 around bright sources in
   flight data) are not in the built-in MURA mask, nor in the simulated data; a user-supplied
   IC mask file (:func:`~skygallery.science.instruments.read_mask_file`) enters the source
   shadows with whatever transmission it gives them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..attitude import Pointing, instrument_angles, scw_wcs
from ..detect import fit_gaussian_peak
from ..instruments.geometry import CodedMaskInstrument
from ..instruments.response import coded_fraction
from .decode import DecodedImage, decode
from .shadow import instrument_angles_of_pixel, source_shadow

__all__ = ["CleanConfig", "CleanResult", "CleanSource", "clean_scw", "restoring_beam_sigma_pix"]


@dataclass(frozen=True)
class CleanConfig:
    """Cleaning parameters: excesses in σ, coded fraction 0..1, restore radius in detector
    pixels (sky pixels of the native, non-oversampled grid), ``oversample`` sky pixels per
    detector pixel for the output images."""

    excess_sigma: float = 6.0
    keep_sigma: float = 3.0
    max_new: int = 10
    min_coded_fraction: float = 0.05
    catalog_min_coded_fraction: float = 0.002
    restore_radius_pix: float = 3.5
    oversample: int = 2

    def __post_init__(self):
        if int(self.oversample) != self.oversample or self.oversample < 1:
            raise ValueError(f"oversample: must be an integer >= 1, got {self.oversample!r}")


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
    """Cleaned maps on the (oversampled) sky grid of ``decoded``, the model sources and the
    fitted background levels (counts per unit-efficiency pixel, per module, then gradients)."""

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


def _weighted_lsq(a: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coefficients and covariance of min Σ w·(y − a·c)², by the normal equations with the
    columns scaled to unit diagonal (a few dozen columns: far cheaper than an SVD of ``a``)."""
    aw = a * w[:, None]
    normal, rhs = aw.T @ a, aw.T @ y
    diag = np.diag(normal)
    scale = np.where(diag > 0, 1.0 / np.sqrt(np.where(diag > 0, diag, 1.0)), 0.0)
    cov_scaled = np.linalg.pinv(normal * np.outer(scale, scale), hermitian=True)
    return scale * (cov_scaled @ (rhs * scale)), cov_scaled * np.outer(scale, scale)


def _fit(d, inst, exposure_s, sources, modules):
    """Weighted LSQ of module levels + source rates; returns (levels, rates, errors, model)."""
    good = inst.efficiency > 0
    cols = [m[good] for m in modules] + [source_shadow(inst, s.theta_y, s.theta_x, 1.0, exposure_s)[good]
                                         for s in sources]
    a = np.stack(cols, axis=1)
    y = d[good]
    coef, _ = _weighted_lsq(a, y, np.ones_like(y))
    coef, cov = _weighted_lsq(a, y, 1.0 / np.clip(a @ coef, 1.0, None))
    full = np.zeros_like(d)
    full[good] = a @ coef
    n_mod = len(modules)
    return coef[:n_mod], coef[n_mod:], np.sqrt(np.clip(np.diag(cov)[n_mod:], 0, None)), full


def _catalog_candidates(catalog, pointing: Pointing, inst, cfg) -> list[CleanSource]:
    if catalog is None:
        return []
    out = []
    for src, _ in catalog.nearest(pointing.ra_deg, pointing.dec_deg, 21.5):   # corners of the ±15° square
        ty, tx = (float(v) for v in instrument_angles(pointing, src.ra_deg, src.dec_deg, inst.sky_pixel_deg))
        if abs(ty) < 15 and abs(tx) < 15 and float(coded_fraction(inst, ty, tx)) >= cfg.catalog_min_coded_fraction:
            out.append(CleanSource(src.name, src.ra_deg, src.dec_deg, ty, tx))
    return out


def _fit_and_prune(d, inst, exposure_s, sources, modules, cfg):
    while True:
        levels, rates, errs, model = _fit(d, inst, exposure_s, sources, modules)
        weak = [i for i, s in enumerate(sources) if s.from_catalog and not rates[i] > cfg.keep_sigma * errs[i]]
        if not weak:
            break
        sources = [s for i, s in enumerate(sources) if i not in weak]
    for s, r, e in zip(sources, rates, errs):
        s.rate, s.rate_err = float(r), float(e)
    return sources, levels, model


def _new_excess(residual: DecodedImage, inst, pointing, cfg, n) -> CleanSource | None:
    sig = np.where(residual.coded_fraction >= cfg.min_coded_fraction, residual.significance, 0.0)
    y, x = np.unravel_index(np.argmax(sig), sig.shape)
    if sig[y, x] < cfg.excess_sigma:
        return None
    width0 = inst.psf_fwhm_arcmin / 60.0 / inst.sky_pixel_deg / 2.3548
    xc, yc, _, _ = fit_gaussian_peak(sig, sig != 0, int(y), int(x), max(width0, 0.8), 3)
    ty, tx = instrument_angles_of_pixel(inst, yc, xc, sig.shape)
    ra, dec = (float(v) for v in scw_wcs(pointing, sig.shape, inst.sky_pixel_deg).pixel_to_world_values(xc, yc))
    return CleanSource(f"excess_{n}", ra % 360.0, dec, ty, tx, from_catalog=False)


def _model_counts(model: np.ndarray, inst: CodedMaskInstrument) -> np.ndarray:
    """Expected counts for the VARIANCE: the fitted model, floored at 1 % of its mean."""
    live = inst.efficiency > 0
    floor = 0.01 * max(float(model[live].mean()), 1e-9) if live.any() else 1e-9
    return np.where(live, np.clip(model, floor, None), 0.0)


_BEAMS: dict[tuple, float] = {}


def _beam_sigma(inst: CodedMaskInstrument) -> float:
    shadow = source_shadow(inst, 0.0, 0.0, 100.0, 1000.0)
    image = decode(shadow, inst, 1000.0).intensity
    cy, cx = (image.shape[0] - 1) // 2, (image.shape[1] - 1) // 2
    width0 = inst.psf_fwhm_arcmin / 60.0 / inst.sky_pixel_deg / 2.3548
    _, _, _, width = fit_gaussian_peak(image, image != 0, cy, cx, max(width0, 0.8), 3)
    return float(width)


def restoring_beam_sigma_pix(inst: CodedMaskInstrument) -> float:
    """σ (detector-pitch sky pixels) of a Gaussian fitted to the decoded main lobe of a
    noise-free on-axis source (ISGRI ≈ 1.17, JEM-X ≈ 0.88): the CLEAN restoring beam."""
    from .decode import _geometry_key
    key = _geometry_key(inst)
    if key not in _BEAMS:
        _BEAMS[key] = _beam_sigma(inst)
    return _BEAMS[key]


def _restore(residual: np.ndarray, valid: np.ndarray, inst, sources, cfg, k: int) -> np.ndarray:
    """Residual + each source's restoring beam (module docstring, step 5) on a grid of
    ``k`` sky pixels per detector pixel."""
    out = residual.copy()
    sigma = restoring_beam_sigma_pix(inst) * k
    radius = cfg.restore_radius_pix * k
    half = math.ceil(radius)
    pitch_over_d = inst.detector.pitch_mm / inst.mask.distance_mm
    cy, cx = (residual.shape[0] - 1) / 2.0, (residual.shape[1] - 1) / 2.0
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1]
    for s in sources:
        py = cy + k * math.tan(math.radians(s.theta_y)) / pitch_over_d
        px = cx + k * math.tan(math.radians(s.theta_x)) / pitch_over_d
        iy, ix = round(py), round(px)
        if not (half <= iy < residual.shape[0] - half and half <= ix < residual.shape[1] - half):
            continue
        r2 = (yy - (py - iy)) ** 2 + (xx - (px - ix)) ** 2
        peak = s.rate * math.exp(0.5 * ((py - iy) ** 2 + (px - ix) ** 2) / sigma ** 2)   # = rate at [iy, ix]
        beam = np.where(r2 <= radius ** 2, peak * np.exp(-0.5 * r2 / sigma ** 2), 0.0)
        box = (slice(iy - half, iy + half + 1), slice(ix - half, ix + half + 1))
        out[box] += np.where(valid[box], beam, 0.0)
    return out


def clean_scw(shadowgram: np.ndarray, inst: CodedMaskInstrument, exposure_s: float, pointing: Pointing,
              catalog=None, config: CleanConfig = CleanConfig()) -> CleanResult:
    """Clean one ScW shadowgram (see the module docstring)."""
    modules = _module_columns(inst)
    sources = _catalog_candidates(catalog, pointing, inst, config)
    levels, model = None, np.zeros_like(shadowgram)
    for n in range(config.max_new + 1):
        sources, levels, model = _fit_and_prune(shadowgram, inst, exposure_s, sources, modules, config)
        if n == config.max_new:
            break
        residual = decode(shadowgram - model, inst, exposure_s, variance_counts=_model_counts(model, inst))
        new = _new_excess(residual, inst, pointing, config, n + 1)
        if new is None:
            break
        sources.append(new)
    k = config.oversample
    fine = decode(shadowgram - model, inst, exposure_s, oversample=k, variance_counts=_model_counts(model, inst))
    intensity = _restore(fine.intensity, fine.variance > 0, inst, sources, config, k)
    decoded = DecodedImage(intensity, fine.variance, _ratio(intensity, fine.variance), fine.exposure,
                           fine.coded_fraction, fine.pixel_deg, exposure_s, k)
    return CleanResult(intensity, fine.intensity, decoded, sources, levels)


def _ratio(intensity, variance):
    out = np.zeros_like(intensity)
    good = variance > 0
    out[good] = intensity[good] / np.sqrt(variance[good])
    return out
