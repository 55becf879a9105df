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

The binned level: :func:`fit_binned` starts from the counts per band (and per time bin of one
band) instead of the events — what :mod:`skygallery.archive.binned` caches per ScW, as OSA's
spectral and light-curve steps start from its BIN_S/BIN_I shadowgrams — and gives the same rates
as :func:`scw_rates` (which bins the events and calls it).
"""
from __future__ import annotations

import hashlib
import math
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .attitude import Pointing
from .fit_shadowgram import FitSource, ShadowgramModel, prepare_model
from .instruments.geometry import CodedMaskInstrument

__all__ = ["ScwRates", "band_shadowgrams", "check_bands", "fit_binned", "scw_rates", "scw_times", "time_grid",
           "time_shadowgrams", "with_efficiency"]


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
                     shape: tuple[int, int], dtype=float) -> np.ndarray:
    """Counts (n_bands, ny, nx) of each band, from one pass over the events (``dtype``: float64 by
    default; an integer type for storage — the counts are the same integers).

    The elementary interval of an event is the number of band edges ≤ its energy, minus one,
    compared in the events' own precision (float32 lists stay float32, as in imaging's band cuts):
    one vectorised comparison per edge, cheaper than a binary search per event."""
    bands = check_bands(bands_kev)
    edges = np.unique(np.array(bands).ravel())
    ny, nx = shape
    npix = ny * nx
    energy = np.asarray(energy_kev)
    cuts = edges.astype(energy.dtype, copy=False)
    n_int = edges.size - 1
    above = (energy >= cuts[0]).astype(np.int16)            # edges ≤ E: interval + 1
    for edge in cuts[1:]:
        above += energy >= edge
    y, x = np.asarray(det_y), np.asarray(det_x)
    ok = (above >= 1) & (above <= n_int) & (y >= 0) & (y < ny) & (x >= 0) & (x < nx)
    key = (above[ok].astype(np.intp) - 1) * npix + y[ok].astype(np.intp) * nx + x[ok]
    cube = np.bincount(key, minlength=n_int * npix).reshape(n_int, ny, nx)
    out = np.empty((len(bands), ny, nx), dtype=dtype)
    for b, (e1, e2) in enumerate(bands):
        i1, i2 = np.searchsorted(edges, e1), np.searchsorted(edges, e2)
        out[b] = cube[i1:i2].sum(axis=0)
    return out


def time_shadowgrams(det_y, det_x, energy_kev, time_ijd, band_kev: tuple[float, float], starts: np.ndarray,
                     stops: np.ndarray, shape: tuple[int, int], dtype=float) -> np.ndarray:
    """Counts (n_tbins, ny, nx) of the events with E_MIN ≤ energy < E_MAX in the time bins
    [start, stop) (IJD; the last bin includes its stop)."""
    e1, e2 = check_bands([band_kev])[0]
    pix, inside = _pixel_index(det_y, det_x, shape)
    energy = np.asarray(energy_kev)
    sel = inside & (energy >= e1) & (energy < e2)
    t = np.asarray(time_ijd)[sel]
    npix = shape[0] * shape[1]
    edges = np.concatenate([starts, stops[-1:]])
    tbin = np.searchsorted(edges, t, side="right") - 1
    keep = (tbin >= 0) & (tbin < starts.size) & (t <= stops[-1])
    flat = np.bincount(tbin[keep] * npix + pix[sel][keep], minlength=starts.size * npix)
    return flat.reshape(starts.size, *shape).astype(dtype)


_WITH_EFFICIENCY: OrderedDict = OrderedDict()


def with_efficiency(inst: CodedMaskInstrument, efficiency) -> CodedMaskInstrument:
    """``inst`` with the dead pixels (≤ 0) of an efficiency map — one object per instrument and dead-
    pixel pattern and process, so everything cached per instrument object (on-axis area, pixel
    layout, decoding arrays, source columns) is computed once per pattern, not once per ScW."""
    if efficiency is None:
        return inst
    eff = np.asarray(efficiency)
    if eff.shape != inst.detector.shape:
        raise ValueError(f"efficiency: shape {eff.shape} differs from the {inst.name} grid {inst.detector.shape}")
    dead = np.ascontiguousarray(eff <= 0)
    key = (inst, hashlib.sha1(dead.tobytes()).hexdigest())
    hit = _WITH_EFFICIENCY.get(key)
    if hit is None:
        hit = _WITH_EFFICIENCY[key] = inst.with_dead_pixels(dead)
        if len(_WITH_EFFICIENCY) > 8:
            _WITH_EFFICIENCY.popitem(last=False)
    _WITH_EFFICIENCY.move_to_end(key)
    return hit


def scw_times(scw) -> tuple[float, float]:
    """(TSTART, TSTOP) IJD of a ScW: its header keywords, else the first and last event."""
    h = scw.header
    if "TSTART" in h and "TSTOP" in h:
        return float(h["TSTART"]), float(h["TSTOP"])
    if scw.time_ijd is not None and scw.time_ijd.size:
        return float(scw.time_ijd.min()), float(scw.time_ijd.max())
    return math.nan, math.nan


def time_grid(t0: float, t1: float, time_bin_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Bins of ``time_bin_s`` seconds covering [t0, t1] (IJD), the last one shorter: (starts, stops)."""
    if not (math.isfinite(time_bin_s) and time_bin_s > 0):
        raise ValueError(f"time_bin_s: must be > 0 s, got {time_bin_s!r}")
    if not (math.isfinite(t0) and math.isfinite(t1) and t1 > t0):
        raise ValueError("time_bin_s: the ScW has no valid TSTART/TSTOP for time bins")
    duration = (t1 - t0) * 86400.0
    n_t = max(1, math.ceil(duration / time_bin_s - 1e-9))
    starts = t0 + np.arange(n_t) * time_bin_s / 86400.0
    return starts, np.minimum(starts + time_bin_s / 86400.0, t1)


def _band_index(bands: list[tuple[float, float]], band) -> int:
    for i, b in enumerate(bands):
        if np.allclose(b, band):
            return i
    raise ValueError(f"time_band: {band} is not one of the bands")


def _whole_rates(swid: str, model: ShadowgramModel, fits_, bands, exposure_s: float, t0: float,
                 t1: float) -> ScwRates:
    n_src = len(model.names)
    return ScwRates(swid, t0, t1, exposure_s, list(bands), list(model.names),
                    np.array([f.rate for f in fits_]).reshape(len(bands), n_src),
                    np.array([f.rate_err for f in fits_]).reshape(len(bands), n_src), None, None,
                    model.coded_fraction.copy(), None, np.array([f.chi2 / max(f.dof, 1) for f in fits_]))


def fit_binned(swid: str, inst: CodedMaskInstrument, pointing: Pointing, sources: Sequence[FitSource],
               bands_kev: Sequence[tuple[float, float]], counts: np.ndarray, exposure_s: float,
               t_start_ijd: float, t_stop_ijd: float, time_counts: np.ndarray | None = None,
               time_bins: np.ndarray | None = None, time_band: tuple[float, float] | None = None,
               background_map: np.ndarray | None = None) -> tuple[ScwRates, ScwRates | None]:
    """Rates from binned counts of one ScW — the binned level (OSA's BIN_I/BIN_S), no events needed.

    ``counts`` (n_bands, ny, nx) per band of ``bands_kev``; ``inst`` must already carry the dead
    pixels (:func:`with_efficiency`). With ``time_counts`` (n_tbins, ny, nx) of ``time_band`` (one of
    the bands; default the last) and ``time_bins`` (3, n_tbins: start IJD, stop IJD, exposure s),
    also the rates per time bin with the background shape of that band's whole-ScW fit. Returns
    (whole-ScW rates (n_bands, n_src), time-binned rates (n_tbins, 1, n_src) or None)."""
    bands = check_bands(bands_kev)
    counts = np.asarray(counts)
    if counts.ndim != 3 or counts.shape[0] != len(bands):
        raise ValueError(f"counts: expected ({len(bands)}, ny, nx), got {counts.shape}")
    model = prepare_model(inst, pointing, sources, background_map)
    tb = None if time_counts is None else _band_index(bands, time_band if time_band is not None else bands[-1])
    fits_ = model.fit_bands(counts, exposure_s, keep_model=[b == tb for b in range(len(bands))])
    whole = _whole_rates(swid, model, fits_, bands, exposure_s, t_start_ijd, t_stop_ijd)
    if tb is None:
        return whole, None
    if time_bins is None or len(time_bins) != 3:
        raise ValueError("time_bins: expected (start IJD, stop IJD, exposure s) arrays")
    starts, stops, expo = (np.asarray(v, float) for v in time_bins)
    res = model.fit_time_bins(np.asarray(time_counts), expo, fits_[tb], exposure_s)
    timed = ScwRates(swid, t_start_ijd, t_stop_ijd, exposure_s, [bands[tb]], list(model.names),
                     res.rate[:, None, :], res.rate_err[:, None, :], starts, stops, model.coded_fraction.copy(),
                     expo)
    return whole, timed


def scw_rates(scw, inst: CodedMaskInstrument, sources: Sequence[FitSource],
              bands_kev: Sequence[tuple[float, float]], time_bin_s: float | None = None,
              background_map: np.ndarray | None = None) -> ScwRates:
    """Rates of ``sources`` in ``bands_kev`` for one ScW (``ScwData`` from
    :func:`skygallery.archive.events.read_scw`); see the module docstring. With ``time_bin_s`` the
    result holds the rates per time bin of every band, (n_tbins, n_bands, n_src)."""
    bands = check_bands(bands_kev)
    inst = with_efficiency(inst, scw.efficiency)
    shape = inst.detector.shape
    counts = band_shadowgrams(scw.det_y, scw.det_x, scw.energy_kev, bands, shape)
    t0, t1 = scw_times(scw)
    if time_bin_s is None:
        return fit_binned(scw.swid, inst, scw.pointing, sources, bands, counts, scw.exposure_s, t0, t1,
                          background_map=background_map)[0]
    if scw.time_ijd is None:
        raise ValueError("time_bin_s: the event list has no TIME column")
    starts, stops = time_grid(t0, t1, float(time_bin_s))
    exposures = scw.exposure_s * (stops - starts) / (t1 - t0)
    model = prepare_model(inst, scw.pointing, sources, background_map)
    fits_ = model.fit_bands(counts, scw.exposure_s)
    out = _whole_rates(scw.swid, model, fits_, bands, scw.exposure_s, t0, t1)
    t_rate = np.empty((starts.size, len(bands), len(sources)))
    t_err = np.empty_like(t_rate)
    for b, band in enumerate(bands):
        cube = time_shadowgrams(scw.det_y, scw.det_x, scw.energy_kev, scw.time_ijd, band, starts, stops, shape)
        res = model.fit_time_bins(cube, exposures, fits_[b], scw.exposure_s)
        t_rate[:, b, :], t_err[:, b, :] = res.rate, res.rate_err
    out.rate, out.rate_err = t_rate, t_err
    out.tbin_start_ijd, out.tbin_stop_ijd, out.tbin_exposure_s = starts, stops, exposures
    return out
