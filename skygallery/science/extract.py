"""Per-ScW source rates in energy bands (and time bins) from the events of one ScW.

The events are binned once into shadowgrams per elementary energy interval (the sorted union of
all band edges; E_MIN ≤ E < E_MAX as in imaging), each band's shadowgram is the sum of its
intervals, and :class:`~skygallery.science.fit_shadowgram.ShadowgramModel` — one PIF per source
per ScW — is fitted to each band. With ``time_bin_s`` the ScW [TSTART, TSTOP] is cut into bins
of that length (the last one shorter); each bin's rates come from
:meth:`~skygallery.science.fit_shadowgram.ShadowgramModel.fit_time_bins` with the background
shape of the whole-ScW fit of the band. Exposure of a bin = ScW EXPOSURE × bin length / (TSTOP −
TSTART) (dead time spread evenly). Rates are counts/s on-axis equivalent; NaN for sources outside
the coded field. Pixels whose efficiency in the event file is ≤ 0 are dead (weight 0).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .fit_shadowgram import FitSource, ShadowgramModel, prepare_model
from .instruments.geometry import CodedMaskInstrument

__all__ = ["ScwRates", "band_shadowgrams", "check_bands", "scw_rates"]


@dataclass
class ScwRates:
    """One ScW, one instrument: rates per source × band (× time bin), counts/s; times IJD."""

    swid: str
    t_start_ijd: float
    t_stop_ijd: float
    exposure_s: float
    bands_kev: list[tuple[float, float]]
    names: list[str]
    rate: np.ndarray              # (n_bands, n_src) or (n_tbins, n_bands, n_src)
    rate_err: np.ndarray          # same shape
    tbin_start_ijd: np.ndarray | None
    tbin_stop_ijd: np.ndarray | None
    coded_fraction: np.ndarray | None = None    # (n_src,) 0..1
    tbin_exposure_s: np.ndarray | None = None   # (n_tbins,) dead-time corrected exposure per bin
    chi2_red: np.ndarray | None = None          # (n_bands,) reduced χ² of the whole-ScW fits


def check_bands(bands_kev: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Validated list of (E_MIN, E_MAX) keV bands (ValueError naming ``bands``)."""
    out = []
    for band in bands_kev:
        try:
            e1, e2 = (float(v) for v in band)
        except (TypeError, ValueError):
            raise ValueError(f"bands: expected (E_MIN, E_MAX) pairs in keV, got {band!r}") from None
        if not (math.isfinite(e1) and math.isfinite(e2) and 0 <= e1 < e2):
            raise ValueError(f"bands: E_MIN must be < E_MAX (keV), got {e1:g}-{e2:g}")
        out.append((e1, e2))
    if not out:
        raise ValueError("bands: at least one energy band is needed")
    return out


def _pixel_index(det_y, det_x, shape) -> tuple[np.ndarray, np.ndarray]:
    ny, nx = shape
    y, x = np.asarray(det_y, np.int32), np.asarray(det_x, np.int32)
    inside = (y >= 0) & (y < ny) & (x >= 0) & (x < nx)
    return y * nx + x, inside


def band_shadowgrams(det_y, det_x, energy_kev, bands_kev: Sequence[tuple[float, float]],
                     shape: tuple[int, int]) -> np.ndarray:
    """Counts (n_bands, ny, nx) of each band, from one pass over the events."""
    bands = check_bands(bands_kev)
    edges = np.unique(np.array(bands).ravel())
    pix, inside = _pixel_index(det_y, det_x, shape)
    energy = np.asarray(energy_kev)
    # compare in the events' own precision (float32 lists stay float32, as in imaging's band cuts)
    interval = np.searchsorted(edges.astype(energy.dtype, copy=False), energy, side="right") - 1
    ok = inside & (interval >= 0) & (interval < edges.size - 1)
    npix = shape[0] * shape[1]
    cube = np.bincount(interval[ok].astype(np.int64) * npix + pix[ok], minlength=(edges.size - 1) * npix)
    cube = cube.reshape(edges.size - 1, *shape).astype(float)
    out = np.empty((len(bands), *shape))
    for b, (e1, e2) in enumerate(bands):
        i1, i2 = np.searchsorted(edges, e1), np.searchsorted(edges, e2)
        out[b] = cube[i1:i2].sum(axis=0)
    return out


def _time_shadowgrams(pix, sel, time_ijd, starts, stops, shape) -> np.ndarray:
    """Counts (n_tbins, ny, nx) of the selected events in the bins [starts, stops) (IJD)."""
    npix = shape[0] * shape[1]
    t = time_ijd[sel]
    edges = np.concatenate([starts, stops[-1:]])
    tbin = np.searchsorted(edges, t, side="right") - 1
    keep = (tbin >= 0) & (tbin < starts.size) & (t <= stops[-1])
    flat = np.bincount(tbin[keep] * npix + pix[sel][keep], minlength=starts.size * npix)
    return flat.reshape(starts.size, *shape).astype(float)


def _with_dead_pixels(inst: CodedMaskInstrument, efficiency) -> CodedMaskInstrument:
    if efficiency is None:
        return inst
    eff = np.asarray(efficiency)
    if eff.shape != inst.detector.shape:
        raise ValueError(f"efficiency: shape {eff.shape} differs from the {inst.name} grid {inst.detector.shape}")
    return inst.with_dead_pixels(eff <= 0)


def _scw_times(scw) -> tuple[float, float]:
    h = scw.header
    if "TSTART" in h and "TSTOP" in h:
        return float(h["TSTART"]), float(h["TSTOP"])
    if scw.time_ijd is not None and scw.time_ijd.size:
        return float(scw.time_ijd.min()), float(scw.time_ijd.max())
    return math.nan, math.nan


def _time_grid(t0: float, t1: float, time_bin_s: float) -> tuple[np.ndarray, np.ndarray, int]:
    if not (math.isfinite(time_bin_s) and time_bin_s > 0):
        raise ValueError(f"time_bin_s: must be > 0 s, got {time_bin_s!r}")
    if not (math.isfinite(t0) and math.isfinite(t1) and t1 > t0):
        raise ValueError("time_bin_s: the ScW has no valid TSTART/TSTOP for time bins")
    duration = (t1 - t0) * 86400.0
    n_t = max(1, math.ceil(duration / time_bin_s - 1e-9))
    starts = t0 + np.arange(n_t) * time_bin_s / 86400.0
    stops = np.minimum(starts + time_bin_s / 86400.0, t1)
    return starts, stops, n_t


def scw_rates(scw, inst: CodedMaskInstrument, sources: Sequence[FitSource],
              bands_kev: Sequence[tuple[float, float]], time_bin_s: float | None = None,
              background_map: np.ndarray | None = None) -> ScwRates:
    """Rates of ``sources`` in ``bands_kev`` for one ScW (``ScwData`` from
    :func:`skygallery.archive.events.read_scw`); see the module docstring."""
    bands = check_bands(bands_kev)
    inst = _with_dead_pixels(inst, scw.efficiency)
    model: ShadowgramModel = prepare_model(inst, scw.pointing, sources, background_map)
    shape = inst.detector.shape
    shadows = band_shadowgrams(scw.det_y, scw.det_x, scw.energy_kev, bands, shape)
    fits_ = [model.fit(s, scw.exposure_s) for s in shadows]
    rate = np.array([f.rate for f in fits_]).reshape(len(bands), len(sources))
    err = np.array([f.rate_err for f in fits_]).reshape(len(bands), len(sources))
    chi2_red = np.array([f.chi2 / max(f.dof, 1) for f in fits_])
    t0, t1 = _scw_times(scw)
    out = ScwRates(scw.swid, t0, t1, scw.exposure_s, bands, list(model.names), rate, err, None, None,
                   model.coded_fraction.copy(), None, chi2_red)
    if time_bin_s is None:
        return out
    if scw.time_ijd is None:
        raise ValueError("time_bin_s: the event list has no TIME column")
    starts, stops, n_t = _time_grid(t0, t1, float(time_bin_s))
    exposures = scw.exposure_s * (stops - starts) / (t1 - t0)
    pix, inside = _pixel_index(scw.det_y, scw.det_x, shape)
    energy = np.asarray(scw.energy_kev)
    t_rate = np.empty((n_t, len(bands), len(sources)))
    t_err = np.empty_like(t_rate)
    for b, (e1, e2) in enumerate(bands):
        sel = inside & (energy >= e1) & (energy < e2)
        cube = _time_shadowgrams(pix, sel, scw.time_ijd, starts, stops, shape)
        tb = model.fit_time_bins(cube, exposures, fits_[b], scw.exposure_s)
        t_rate[:, b, :], t_err[:, b, :] = tb.rate, tb.rate_err
    out.rate, out.rate_err = t_rate, t_err
    out.tbin_start_ijd, out.tbin_stop_ijd, out.tbin_exposure_s = starts, stops, exposures
    return out

