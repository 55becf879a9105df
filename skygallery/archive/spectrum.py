"""From archive ScWs to source spectra (the ``skygallery spectrum`` workflow).

For every selected ScW: read the events (:func:`~skygallery.archive.events.read_scw`), choose the
sources to fit — the target plus the reference-catalog sources in the field that are bright enough
to matter (:func:`~skygallery.archive.lightcurve.field_sources`) — and fit the shadowgram in each
energy channel (:func:`~skygallery.science.extract.scw_rates`). ScWs can be processed by
``workers`` processes (reading the gzipped event lists dominates the time). The per-ScW rates are
combined with variance weighting (:func:`~skygallery.science.spectra.combine_scw_rates`); the
target and every other fitted source seen in all the ScWs get a spectrum.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from skygallery.science.extract import ScwRates, scw_rates
from skygallery.science.fit_shadowgram import FitSource
from skygallery.science.spectra import CombinedRates, combine_scw_rates

from .events import read_scw
from .layout import ScwRecord
from .products import INSTRUMENTS

__all__ = ["SpectrumRun", "extract_spectra", "scw_spectral_rates"]


@dataclass
class SpectrumRun:
    """Combined rates of the fitted sources, per-ScW rates, ScWs skipped (with reason), timings (s):
    ``read``/``fit`` are CPU seconds summed over the ScWs (all workers), ``total`` the wall time."""

    combined: CombinedRates
    rates: list[ScwRates]
    sources: list[FitSource]
    skipped: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


def _field(catalog, prefix, pointing, target, min_catalog_rate, extra: Sequence[FitSource]) -> list[FitSource]:
    from .lightcurve import field_sources
    found = field_sources(catalog, prefix, pointing.ra_deg, pointing.dec_deg, target, min_catalog_rate)
    names = {s.name for s in found}
    return found + [s for s in extra if s.name not in names]


def scw_spectral_rates(record: ScwRecord, prefix: str, target: FitSource, bands: Sequence[tuple[float, float]],
                       catalog=None, min_catalog_rate: float = 2.0,
                       extra: Sequence[FitSource] = ()) -> tuple[ScwRates | None, str, float, float, list]:
    """(rates or None, skip reason, read CPU seconds, fit CPU seconds, fitted sources) of one ScW."""
    t0 = time.process_time()
    try:
        data = read_scw(record.path, prefix)
    except ValueError as exc:
        return None, f"{record.scw_id}: {exc}", time.process_time() - t0, 0.0, []
    t1 = time.process_time()
    sources = _field(catalog, prefix, data.pointing, target, min_catalog_rate, extra)
    rates = scw_rates(data, INSTRUMENTS[prefix][0](), sources, bands)
    return rates, "", t1 - t0, time.process_time() - t1, sources


def _run_one(args):
    return scw_spectral_rates(*args)


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
                    extra: Sequence[FitSource] = (), workers: int = 1,
                    progress: Callable[[int], None] | None = None) -> SpectrumRun:
    """Rates per channel of ``target`` (and the other fitted sources) over ``records`` combined
    across ScWs; ScWs without the instrument's events or with the target outside the coded field are
    skipped and listed."""
    if prefix not in INSTRUMENTS:
        raise ValueError(f"instrument: unknown {prefix!r} ({', '.join(INSTRUMENTS)})")
    if not records:
        raise ValueError("scws: no science windows selected")
    if workers < 1:
        raise ValueError(f"workers: must be >= 1, got {workers}")
    started = time.perf_counter()
    jobs = [(rec, prefix, target, list(bands), catalog, min_catalog_rate, list(extra)) for rec in records]
    results = []
    if workers == 1 or len(jobs) == 1:
        for n, job in enumerate(jobs, 1):
            results.append(_run_one(job))
            if progress:
                progress(n)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for n, res in enumerate(pool.map(_run_one, jobs, chunksize=1), 1):
                results.append(res)
                if progress:
                    progress(n)
    rates, skipped = [], []
    known = {}
    for rec, (r, reason, _, _, srcs) in zip(records, results):
        known.update({s.name: s for s in srcs})
        if r is None:
            skipped.append(reason)
        elif not np.any(np.isfinite(r.rate[:, 0])):
            skipped.append(f"{rec.scw_id}: {target.name} outside the coded field")
        else:
            rates.append(r)
    if not rates:
        raise ValueError(f"scws: {target.name} is in the coded field of none of the {len(records)} ScWs")
    rates = _common(rates, target.name)
    combined = combine_scw_rates(rates)
    seconds = {"read": float(sum(r[2] for r in results)), "fit": float(sum(r[3] for r in results)),
               "total": time.perf_counter() - started}
    sources = [known[n] for n in combined.names]
    return SpectrumRun(combined, rates, sources, skipped, seconds)
