"""From archive ScWs to source spectra (the ``skygallery spectrum`` workflow).

For every selected ScW: choose the sources to fit — the target plus the reference-catalog sources
in the field that are bright enough to matter (:func:`~skygallery.archive.lightcurve.field_sources`)
and the ``extra`` ones —, bring the ScW to the binned level (:mod:`.binned`: detector counts per
energy channel, read from the cache ``cache_dir`` when there, else binned from the events and
cached) and fit the shadowgram in every channel at once
(:func:`~skygallery.science.extract.fit_binned`). ScWs not cached yet are read by ``workers``
processes (reading the gzipped event lists dominates the time; :func:`.binned.run_jobs`). The
per-ScW rates are combined with variance weighting
(:func:`~skygallery.science.spectra.combine_scw_rates`); the target and every other fitted source
seen in all the ScWs get a spectrum.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from skygallery.science.extract import ScwRates, check_bands
from skygallery.science.fit_shadowgram import FitSource
from skygallery.science.spectra import CombinedRates, combine_scw_rates

from .binned import ScwJob, cube_path, run_jobs
from .layout import ScwRecord
from .lightcurve import field_sources, run_summary
from .products import INSTRUMENTS

__all__ = ["SpectrumRun", "extract_spectra"]


@dataclass
class SpectrumRun:
    """Combined rates of the fitted sources, per-ScW rates, ScWs skipped (with reason), timings (s):
    ``read`` (event lists), ``bin`` (binning + writing cubes), ``read_cube``, ``fit`` are CPU seconds
    summed over the ScWs (all processes), ``total`` the wall time; ``n_cached`` ScWs came from the
    binned cache; ``peak_rss_mb`` is the largest peak memory (MB) of the pool processes (NaN when
    every ScW ran in the calling process)."""

    combined: CombinedRates
    rates: list[ScwRates]
    sources: list[FitSource]
    skipped: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    n_cached: int = 0
    peak_rss_mb: float = math.nan


def _field(catalog, prefix, record: ScwRecord, target, min_catalog_rate,
           extra: Sequence[FitSource]) -> list[FitSource]:
    found = field_sources(catalog, prefix, record.ra_deg, record.dec_deg, target, min_catalog_rate)
    names = {s.name for s in found}
    return found + [s for s in extra if s.name not in names]


def _job(record: ScwRecord, prefix: str, sources, bands, cache_dir) -> ScwJob:
    path = None if cache_dir is None else str(cube_path(cache_dir, str(record.scw_id), record.path, prefix, bands))
    return ScwJob(str(record.scw_id), str(record.path), prefix, tuple(sources), tuple(bands), cache_path=path)


def _common(rates: list[ScwRates], target: str) -> list[ScwRates]:
    """The per-ScW rates restricted to the sources every ScW fitted (target first)."""
    names = [n for n in rates[0].names if all(n in r.names for r in rates)]
    if target in names:
        names.remove(target)
    names = [target] + names
    out = []
    for r in rates:
        idx = [r.names.index(n) for n in names]
        out.append(ScwRates(r.swid, r.t_start_ijd, r.t_stop_ijd, r.exposure_s, r.bands_kev, names,
                            r.rate[:, idx], r.rate_err[:, idx], None, None,
                            None if r.coded_fraction is None else r.coded_fraction[idx], None, r.chi2_red))
    return out


def extract_spectra(records: Sequence[ScwRecord], prefix: str, target: FitSource,
                    bands: Sequence[tuple[float, float]], catalog=None, min_catalog_rate: float = 2.0,
                    extra: Sequence[FitSource] = (), workers: int | None = None,
                    progress: Callable[[int], None] | None = None, cache_dir=None) -> SpectrumRun:
    """Rates per channel of ``target`` (and the other fitted sources) over ``records`` combined
    across ScWs; ScWs without the instrument's events or with the target outside the coded field are
    skipped and listed. ``workers`` processes (default: the CPU cores) bin the ScWs not cached yet;
    ``cache_dir`` is the binned cache folder (None: bin in memory, cache nothing)."""
    if prefix not in INSTRUMENTS:
        raise ValueError(f"instrument: unknown {prefix!r} ({', '.join(INSTRUMENTS)})")
    if not records:
        raise ValueError("scws: no science windows selected")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ValueError(f"workers: must be >= 1, got {workers}")
    bands = check_bands(bands)
    started = time.perf_counter()
    fields = [_field(catalog, prefix, rec, target, min_catalog_rate, extra) for rec in records]
    jobs = [_job(rec, prefix, srcs, bands, cache_dir) for rec, srcs in zip(records, fields)]
    outcomes = run_jobs(jobs, workers, progress)
    rates, skipped = [], []
    known = {}
    for rec, srcs, out in zip(records, fields, outcomes):
        if out.skipped:
            skipped.append(out.skipped)
            continue
        known.update({s.name: s for s in srcs})
        if not np.any(np.isfinite(out.whole.rate[:, 0])):
            skipped.append(f"{rec.scw_id}: {target.name} outside the coded field")
        else:
            rates.append(out.whole)
    if not rates:
        raise ValueError(f"scws: {target.name} is in the coded field of none of the {len(records)} ScWs")
    rates = _common(rates, target.name)
    combined = combine_scw_rates(rates)
    seconds, n_cached, peak = run_summary(outcomes)
    seconds["total"] = time.perf_counter() - started
    sources = [known[n] for n in combined.names]
    return SpectrumRun(combined, rates, sources, skipped, seconds, n_cached, peak)
