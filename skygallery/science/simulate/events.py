"""Per-ScW event simulation: source photons through the mask, background, dead pixels, dead time.

For each source in the field the expected counts per detector pixel are
R_tot·⟨lc⟩·T_eff/A · W·PIF (:func:`~skygallery.science.imaging.shadow.source_shadow`), with
R_tot the source's count rate over the whole simulated energy range (spectrum × effective area,
:mod:`.sky`), ⟨lc⟩ the light-curve factor averaged over the ScW and T_eff = ONTIME × DEADC the
dead-time-corrected exposure. The background is flat per module with a per-module level
(relative spread ``module_spread``) times a gentle linear gradient across the detector, with a
power-law measured spectrum. Counts per pixel are Poisson; events get a time (uniform, or
following the light curve), a measured energy (spectrum × area, resolution) and the pixel.
Everything derives from one ``numpy.random.Generator``: same seed, same events.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..attitude import Pointing, instrument_angles
from ..imaging.shadow import source_shadow
from ..instruments.geometry import CodedMaskInstrument
from ..instruments.response import coded_fraction
from .sky import SkyModel, SpectralResponse, band_rate, sample_energies, total_rate

__all__ = ["BackgroundModel", "ScwEvents", "background_shape", "module_map", "simulate_events"]


@dataclass(frozen=True)
class BackgroundModel:
    """Detector background: total rate (counts/s, all energies, before dead time), module
    spread (relative rms), gradient (relative change across the detector), spectral index."""

    rate_counts_s: float = 500.0
    module_spread: float = 0.05
    gradient: float = 0.05
    index: float = 1.5


@dataclass
class ScwEvents:
    """Simulated events of one ScW and instrument, plus the truth rows."""

    time_ijd: np.ndarray
    energy_kev: np.ndarray
    det_y: np.ndarray
    det_x: np.ndarray
    exposure_s: float
    truth: list[dict]


def module_map(inst: CodedMaskInstrument) -> np.ndarray:
    """Module number of every pixel ([y, x]; −1 on gaps): ISGRI 8 modules, JEM-X one."""
    valid = inst.detector.valid
    if inst.extname_prefix != "ISGR":
        return np.where(valid, 0, -1)
    ny, nx = valid.shape
    row = np.minimum(np.arange(ny) // (ny // 4), 3)
    col = np.minimum(np.arange(nx) // (nx // 2), 1)
    return np.where(valid, row[:, None] * 2 + col[None, :], -1)


def background_shape(inst: CodedMaskInstrument, bkg: BackgroundModel, rng: np.random.Generator,
                     modules: np.ndarray | None = None) -> np.ndarray:
    """Relative background per pixel (sums to 1): a random level per detector module (``modules``,
    default :func:`module_map`; −1 on gaps) × a gentle linear gradient × the pixel efficiency."""
    modules = module_map(inst) if modules is None else modules
    levels = 1.0 + bkg.module_spread * rng.standard_normal(modules.max() + 1)
    ny, nx = modules.shape
    yy, xx = np.mgrid[0:ny, 0:nx]
    slope = 1.0 + bkg.gradient * ((xx - nx / 2) / nx + 0.5 * (yy - ny / 2) / ny)
    shape = np.where(modules >= 0, levels[np.maximum(modules, 0)], 0.0) * slope * inst.efficiency
    return shape / max(shape.sum(), 1e-12)


def _background_expected(inst, bkg: BackgroundModel, t_eff: float, rng) -> np.ndarray:
    return bkg.rate_counts_s * t_eff * background_shape(inst, bkg, rng)


def _powerlaw_energies(rng, n, index, e1, e2) -> np.ndarray:
    u = rng.random(n)
    g = 1.0 - index
    if abs(g) < 1e-9:   # index 1: logarithmic
        return (e1 * (e2 / e1) ** u).astype(np.float32)
    return ((e1 ** g + u * (e2 ** g - e1 ** g)) ** (1.0 / g)).astype(np.float32)


def _times(rng, n, t0, t1, lightcurve) -> np.ndarray:
    if not lightcurve.flares and lightcurve.on_ijd == -math.inf and lightcurve.off_ijd == math.inf:
        return t0 + (t1 - t0) * rng.random(n)
    grid = np.linspace(t0, t1, 257)
    w = lightcurve.factor(grid)
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (w[1:] + w[:-1]))])
    return np.interp(rng.random(n) * cdf[-1], cdf, grid)


def _expand(rng, expected: np.ndarray):
    counts = rng.poisson(expected).ravel()
    idx = np.repeat(np.arange(counts.size, dtype=np.int32), counts)
    _ny, nx = expected.shape
    return idx // nx, idx % nx, int(counts.sum())


def simulate_events(inst: CodedMaskInstrument, response: SpectralResponse, sky: SkyModel, pointing: Pointing,
                    tstart_ijd: float, tstop_ijd: float, rng: np.random.Generator, background: BackgroundModel,
                    deadc: float = 0.7, bands: tuple[tuple[float, float], ...] = ((20.0, 40.0),)) -> ScwEvents:
    """Events of one ScW (see the module docstring); ``truth`` has one row per source in view."""
    if not 0 < deadc <= 1:
        raise ValueError(f"deadc: dead-time factor must be in (0, 1], got {deadc!r}")
    if not tstop_ijd > tstart_ijd:
        raise ValueError(f"tstop: must be after tstart ({tstart_ijd!r} >= {tstop_ijd!r})")
    t_eff = (tstop_ijd - tstart_ijd) * 86400.0 * deadc
    parts_y, parts_x, parts_e, parts_t, truth = [], [], [], [], []
    by, bx, nb = _expand(rng, _background_expected(inst, background, t_eff, rng))
    parts_y.append(by), parts_x.append(bx), parts_t.append(tstart_ijd + (tstop_ijd - tstart_ijd) * rng.random(nb))
    parts_e.append(_powerlaw_energies(rng, nb, background.index, response.e_min_kev, response.e_max_kev))
    for src in sky.sources:
        ty, tx = (float(v) for v in instrument_angles(pointing, src.ra_deg, src.dec_deg, inst.sky_pixel_deg))
        if not (abs(ty) < 20 and abs(tx) < 20):   # also skips NaN (behind the instrument)
            continue
        cf = float(coded_fraction(inst, ty, tx))
        if cf <= 0:
            continue
        lc_mean = float(np.mean(src.lightcurve.factor(np.linspace(tstart_ijd, tstop_ijd, 257))))
        rate = total_rate(src.k, src.index, response) * lc_mean
        sy, sx, n = _expand(rng, source_shadow(inst, ty, tx, rate, t_eff))
        parts_y.append(sy), parts_x.append(sx)
        parts_e.append(sample_energies(rng, n, src.k, src.index, response))
        parts_t.append(_times(rng, n, tstart_ijd, tstop_ijd, src.lightcurve))
        row = {"NAME": src.name, "RA": src.ra_deg, "DEC": src.dec_deg, "THETA_Y": ty, "THETA_X": tx,
               "OFFAXIS": math.hypot(ty, tx), "CODED_FRAC": cf, "RATE_TOT": rate, "COUNTS": n, "LC_MEAN": lc_mean}
        for e1, e2 in bands:
            row[f"RATE_{e1:g}_{e2:g}"] = band_rate(src.k, src.index, (e1, e2), response) * lc_mean
        truth.append(row)
    time = np.concatenate(parts_t)
    order = np.argsort(time, kind="stable")
    return ScwEvents(time[order], np.concatenate(parts_e)[order], np.concatenate(parts_y)[order].astype(np.int16),
                     np.concatenate(parts_x)[order].astype(np.int16), t_eff, truth)
