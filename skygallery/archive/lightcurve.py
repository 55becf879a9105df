"""From archive ScWs to a source light curve (the ``skygallery lightcurve`` workflow).

For every selected ScW: choose the sources to fit — the target plus the reference-catalog sources
within the instrument's field (ISGRI 15°, JEM-X 6.6° from the pointing axis) that are known to be
bright enough to matter (catalog rate ≥ ``min_catalog_rate`` counts/s, or any source of the
built-in bright list) —, bring the ScW to the binned level (:mod:`.binned`: detector counts of the
band, and per time bin; read from the cache ``cache_dir`` when there, else binned from the events
and cached) and fit the shadowgram per ScW or per time bin
(:func:`~skygallery.science.extract.fit_binned`). ScWs run in parallel (:func:`.binned.run_jobs`).

BACKV, the detector background rate in the band (counts/s, whole detector), is the band count
rate on the working pixels minus the sources' share, Σᵢ Rᵢ·cᵢ (cᵢ the coded fraction: a
source of on-axis-equivalent rate R puts ≈ R·c counts/s on the detector).
"""
from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from skygallery.science.extract import ScwRates, check_bands
from skygallery.science.fit_shadowgram import FitSource
from skygallery.science.lightcurves import LightCurve, from_scw_rates
from skygallery.science.sphere import separation_deg

from .binned import ScwJob, ScwOutcome, cube_path, run_jobs
from .layout import ScwRecord
from .products import INSTRUMENTS

__all__ = ["FIELD_RADIUS_DEG", "LightCurveRun", "binned_background", "detector_background", "extract_lightcurve",
           "field_sources", "run_summary"]

FIELD_RADIUS_DEG = {"ISGR": 15.0, "JMX1": 6.6, "JMX2": 6.6}
SAME_SOURCE_DEG = 2.0 / 60.0


@dataclass
class LightCurveRun:
    """The light curve, the per-ScW fits behind it, ScWs skipped (with the reason), timings (s):
    ``read`` (event lists), ``bin`` (binning + writing cubes), ``read_cube``, ``fit`` are CPU seconds
    summed over the processes, ``lightcurve`` and ``total`` wall seconds; ``n_cached`` ScWs came
    from the binned cache; ``peak_rss_mb`` is the largest peak memory (MB) of the pool processes
    (NaN when every ScW ran in the calling process)."""

    lightcurve: LightCurve
    rates: list[ScwRates]
    skipped: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    n_cached: int = 0
    peak_rss_mb: float = math.nan


def _catalog_rate(src, prefix: str) -> float | None:
    return src.isgri_flux if prefix == "ISGR" else src.jemx_flux


def field_sources(catalog, prefix: str, ra_deg: float, dec_deg: float, target: FitSource,
                  min_catalog_rate: float = 2.0) -> list[FitSource]:
    """The target first, then catalog sources near the pointing (module docstring); a catalog
    entry within 2′ of the target or with its name is the target itself and is not repeated."""
    out = [target]
    if catalog is None:
        return out
    for src, _ in catalog.nearest(ra_deg, dec_deg, FIELD_RADIUS_DEG[prefix]):
        rate = _catalog_rate(src, prefix)
        if rate is None and src.origin != "builtin":
            continue
        if rate is not None and rate < min_catalog_rate:
            continue
        if src.name.lower() == target.name.lower() or \
                float(separation_deg(src.ra_deg, src.dec_deg, target.ra_deg, target.dec_deg)) < SAME_SOURCE_DEG:
            continue
        if any(s.name == src.name for s in out):
            continue
        out.append(FitSource(src.name, src.ra_deg, src.dec_deg))
    return out


def detector_background(scw, rates: ScwRates, band_kev: tuple[float, float]) -> np.ndarray:
    """BACKV per bin (counts/s) from the events ``scw``: band count rate on working pixels minus
    Σ R·coded fraction (the binned path uses :func:`binned_background`)."""
    e1, e2 = band_kev
    sel = (scw.energy_kev >= e1) & (scw.energy_kev < e2)
    if scw.efficiency is not None:
        eff = np.asarray(scw.efficiency)
        y, x = np.asarray(scw.det_y), np.asarray(scw.det_x)
        inside = (y >= 0) & (y < eff.shape[0]) & (x >= 0) & (x < eff.shape[1])
        working = np.zeros(y.size, bool)
        working[inside] = eff[y[inside], x[inside]] > 0
        sel &= working
    cf = np.nan_to_num(np.asarray(rates.coded_fraction if rates.coded_fraction is not None
                                  else np.ones(len(rates.names)), float))
    i_band = next(i for i, b in enumerate(rates.bands_kev) if np.allclose(b, band_kev))
    src = np.nan_to_num(np.asarray(rates.rate, float)) @ cf           # (bands,) or (tbins, bands)
    if rates.rate.ndim == 2:
        out = np.full(len(rates.bands_kev), np.nan)
        out[i_band] = sel.sum() / rates.exposure_s - src[i_band]
        return out
    edges = np.concatenate([rates.tbin_start_ijd, rates.tbin_stop_ijd[-1:]])
    counts = np.histogram(scw.time_ijd[sel], bins=edges)[0]
    expo = rates.tbin_exposure_s
    out = np.full((counts.size, len(rates.bands_kev)), np.nan)
    out[:, i_band] = np.divide(counts, expo, out=np.full(counts.size, np.nan), where=expo > 0) - src[:, i_band]
    return out


def binned_background(rates: ScwRates, outcome: ScwOutcome) -> np.ndarray:
    """BACKV ((bands,) or (tbins, 1), counts/s) of ``rates`` from the detector count rates of the
    binned level (:func:`.binned.detector_rates`) minus Σ R·coded fraction."""
    cf = np.nan_to_num(np.asarray(rates.coded_fraction if rates.coded_fraction is not None
                                  else np.ones(len(rates.names)), float))
    src = np.nan_to_num(np.asarray(rates.rate, float)) @ cf           # (bands,) or (tbins, 1)
    if rates.rate.ndim == 2:
        return np.asarray(outcome.detector_rate, float) - src
    return np.asarray(outcome.tdetector_rate, float)[:, None] - src


def run_summary(outcomes: Sequence[ScwOutcome]) -> tuple[dict[str, float], int, float]:
    """(CPU seconds per step summed over the ScWs — ``read`` for the event lists —, number of ScWs
    read from the cache, largest peak memory of the pool processes in MB, NaN when none ran) of a
    run's outcomes."""
    keys = {"read_events": "read", "bin": "bin", "read_cube": "read_cube", "fit": "fit"}
    seconds = {v: float(sum(o.seconds.get(k, 0.0) for o in outcomes)) for k, v in keys.items()}
    here = os.getpid()
    peaks = [o.peak_rss_mb for o in outcomes if o.pid != here and not math.isnan(o.peak_rss_mb)]
    return seconds, sum(o.cached for o in outcomes), max(peaks) if peaks else math.nan


def extract_lightcurve(records: Sequence[ScwRecord], prefix: str, target: FitSource,
                       band_kev: tuple[float, float], time_bin_s: float | None = None, catalog=None,
                       min_catalog_rate: float = 2.0, progress: Callable[[int], None] | None = None,
                       workers: int | None = None, cache_dir=None) -> LightCurveRun:
    """Light curve of ``target`` over ``records`` (module docstring); ScWs without this
    instrument's events, or where the target is outside the coded field, are listed in ``skipped``.

    ``workers`` processes (default: the CPU cores) bin the ScWs not cached yet; ``cache_dir`` is the
    binned cache folder (None: bin in memory, cache nothing)."""
    if prefix not in INSTRUMENTS:
        raise ValueError(f"instrument: unknown {prefix!r} ({', '.join(INSTRUMENTS)})")
    if not records:
        raise ValueError("scws: no science windows selected")
    band = check_bands([band_kev])[0]
    if time_bin_s is not None and not (math.isfinite(time_bin_s) and time_bin_s > 0):
        raise ValueError(f"time_bin_s: must be > 0 s, got {time_bin_s!r}")
    started = time.perf_counter()
    tband = band if time_bin_s is not None else None
    jobs = []
    for rec in records:
        sources = field_sources(catalog, prefix, rec.ra_deg, rec.dec_deg, target, min_catalog_rate)
        path = None if cache_dir is None else \
            str(cube_path(cache_dir, str(rec.scw_id), rec.path, prefix, [band], tband, time_bin_s))
        jobs.append(ScwJob(str(rec.scw_id), str(rec.path), prefix, tuple(sources), (band,), tband, time_bin_s, path))
    outcomes = run_jobs(jobs, workers, progress)
    rates, backs, skipped = [], [], []
    for rec, out in zip(records, outcomes):
        if out.skipped:
            skipped.append(out.skipped)
            continue
        r = out.timed if time_bin_s is not None else out.whole
        if not np.any(np.isfinite(np.asarray(r.rate)[..., 0, 0])):
            skipped.append(f"{rec.scw_id}: {target.name} outside the coded field")
        else:
            rates.append(r)
            backs.append(binned_background(r, out))
    if not rates:
        raise ValueError(f"scws: {target.name} is in the coded field of none of the {len(records)} ScWs")
    timing, n_cached, peak = run_summary(outcomes)
    t0 = time.perf_counter()
    lc = from_scw_rates(rates, target.name, band, instrument=prefix, ra_deg=target.ra_deg,
                        dec_deg=target.dec_deg, background=backs)
    timing["lightcurve"] = time.perf_counter() - t0
    timing["total"] = time.perf_counter() - started
    if not math.isfinite(lc.e_min_kev):
        raise ValueError("band: no band in the fits")
    return LightCurveRun(lc, rates, skipped, timing, n_cached, peak)
