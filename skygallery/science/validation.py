"""Injection–recovery scoring of a mosaic's detections against the simulation truth.

Truth (per source, from the ScWs' truth tables): the band rate averaged over the ScWs that
saw it (counts/s). Each source's *true significance* is its true rate over the mosaic's
√VARIANCE at its position; sources outside the searched area (``detect.usable_mask``: the
exposure and edge cuts) get true significance 0 — detection never looks there. A detection
matches, among the not yet matched true sources within ``match_arcmin`` (default 3′), the one
contributing most at its position, rate × PSF(separation) (Gaussian of ``psf_fwhm_arcmin``) —
of two catalog sources 0.5′ apart (AX J1745.6-2900 and the near-zero 1A 1742-289) the nearest
is not necessarily the one seen; unmatched detections above the threshold are false detections.

Metrics: position offsets of matched sources with true significance ≥ ``bright_sigma`` (20σ);
flux ratios detected/true for those, and their pulls (detected − true)/FLUX_ERR — at 20σ the
statistical error alone is 5 %, so a flux "within 5 %" is checked as |ratio − 1| ≤ 5 % or
|pull| ≤ 3; completeness for true significance ≥ ``complete_sigma``
(8σ); the standard deviation of the mosaic significance in source-free pixels (exposure ≥
``min_exposure_fraction`` of the maximum, farther than ``mask_arcmin`` from every true source
whose true significance is ≥ 1).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .detect import Detection
from .osa_images import SkyImages
from .sphere import separation_deg

__all__ = ["Score", "TrueSource", "collect_truth", "score_detections"]


@dataclass
class TrueSource:
    name: str
    ra_deg: float
    dec_deg: float
    rate: float              # counts/s in the band, averaged over the ScWs that saw it
    true_sigma: float = math.nan


@dataclass
class Score:
    n_true_bright: int = 0
    max_offset_arcmin: float = math.nan
    flux_ratios: list[float] = field(default_factory=list)
    flux_pulls: list[float] = field(default_factory=list)
    completeness: float = math.nan
    n_complete_sample: int = 0
    false_detections: int = 0
    background_sigma_std: float = math.nan
    background_sigma_mean: float = math.nan
    rows: list[dict] = field(default_factory=list)

    @property
    def max_flux_error(self) -> float:
        return max((abs(r - 1.0) for r in self.flux_ratios), default=math.nan)

    @property
    def flux_failures(self) -> int:
        """Bright sources with |ratio − 1| > 5 % and |pull| > 3."""
        return sum(abs(r - 1) > 0.05 and abs(p) > 3 for r, p in zip(self.flux_ratios, self.flux_pulls))


def collect_truth(truth_tables: list, rate_column: str, min_rate: float = 0.0) -> list[TrueSource]:
    """Average each source's band rate over the truth tables (FITS records or dict lists)."""
    sums: dict[str, list] = {}
    for table in truth_tables:
        for row in table:
            name = str(row["NAME"]).strip()
            entry = sums.setdefault(name, [float(row["RA"]), float(row["DEC"]), 0.0, 0])
            entry[2] += float(row[rate_column])
            entry[3] += 1
    return [TrueSource(n, ra, dec, total / count) for n, (ra, dec, total, count) in sums.items()
            if count and total / count > min_rate]


def _true_sigmas(truth: list[TrueSource], mosaic: SkyImages, usable: np.ndarray) -> None:
    var = np.where(usable, mosaic.get("VARIANCE"), 0.0)
    w = mosaic.wcs
    ny, nx = var.shape
    for t in truth:
        x, y = (float(v) for v in w.world_to_pixel_values(t.ra_deg, t.dec_deg))
        iy, ix = round(y), round(x)
        ok = 0 <= iy < ny and 0 <= ix < nx and var[iy, ix] > 0
        t.true_sigma = t.rate / math.sqrt(var[iy, ix]) if ok else 0.0


def _background_stats(truth, mosaic, mask_arcmin, min_exposure_fraction):
    sig, expo = mosaic.significance, mosaic.get("EXPOSURE")
    ok = mosaic.get("VARIANCE") > 0
    if expo is not None and expo.max() > 0:
        ok &= expo >= min_exposure_fraction * expo.max()
    ny, nx = sig.shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    pix_arcmin = abs(float(mosaic.wcs.pixel_scale_matrix[1, 1])) * 60.0
    r = mask_arcmin / pix_arcmin
    for t in truth:
        if t.true_sigma >= 1.0:
            x, y = (float(v) for v in mosaic.wcs.world_to_pixel_values(t.ra_deg, t.dec_deg))
            ok &= (yy - y) ** 2 + (xx - x) ** 2 > r ** 2
    values = sig[ok]
    return (float(np.std(values)), float(np.mean(values))) if values.size > 100 else (math.nan, math.nan)


def score_detections(detections: list[Detection], truth: list[TrueSource], mosaic: SkyImages,
                     threshold: float = 7.0, match_arcmin: float = 3.0, bright_sigma: float = 20.0,
                     complete_sigma: float = 8.0, mask_arcmin: float = 30.0,
                     min_exposure_fraction: float = 0.25, psf_fwhm_arcmin: float = 12.0) -> Score:
    """Score ``detections`` against ``truth`` (see the module docstring)."""
    from .detect import DetectionConfig, usable_mask
    _true_sigmas(truth, mosaic, usable_mask(mosaic, DetectionConfig(min_exposure_fraction=min_exposure_fraction)))
    score = Score()
    matched: dict[str, Detection] = {}
    sigma = psf_fwhm_arcmin / 2.3548
    for d in detections:
        seps = [(separation_deg(d.ra_deg, d.dec_deg, t.ra_deg, t.dec_deg) * 60, t) for t in truth]
        near = [(sep, t) for sep, t in seps if sep <= match_arcmin and t.name not in matched]
        if near:
            sep, best = max(near, key=lambda p: p[1].rate * math.exp(-0.5 * (p[0] / sigma) ** 2))
            matched[best.name] = d
        elif d.detsig >= threshold:
            sep, best = min(seps, key=lambda p: p[0], default=(math.inf, None))
            score.false_detections += 1
            score.rows.append({"name": f"FALSE {d.name}", "true_rate": math.nan, "true_sigma": math.nan,
                               "found": True, "flux": d.flux, "detsig": d.detsig,
                               "nearest": best.name if best else "", "offset_arcmin": sep})
    offsets = []
    for t in truth:
        d = matched.get(t.name)
        row = {"name": t.name, "true_rate": t.rate, "true_sigma": t.true_sigma, "found": d is not None}
        if d is not None:
            off = separation_deg(d.ra_deg, d.dec_deg, t.ra_deg, t.dec_deg) * 60
            row.update(flux=d.flux, flux_err=d.flux_err, detsig=d.detsig, offset_arcmin=off)
            if t.true_sigma >= bright_sigma:
                offsets.append(off)
                score.flux_ratios.append(d.flux / t.rate)
                score.flux_pulls.append((d.flux - t.rate) / d.flux_err if d.flux_err > 0 else math.inf)
        score.rows.append(row)
    score.n_true_bright = sum(t.true_sigma >= bright_sigma for t in truth)
    score.max_offset_arcmin = max(offsets, default=math.nan)
    sample = [t for t in truth if t.true_sigma >= complete_sigma]
    score.n_complete_sample = len(sample)
    score.completeness = sum(t.name in matched for t in sample) / len(sample) if sample else math.nan
    score.background_sigma_std, score.background_sigma_mean = _background_stats(
        truth, mosaic, mask_arcmin, min_exposure_fraction)
    return score
