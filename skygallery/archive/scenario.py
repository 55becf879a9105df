"""The injection–recovery scenario shared by the tests and ``benchmarks/validate_imaging.py``.

One simulated revolution with two fields — the crowded Galactic centre (5×5 dither) and the
Crab (hexagon) — built from the reference catalog (sources with a catalog ISGRI flux, and the
Crab; catalog entries without a flux are left out rather than given an invented one); each field's ScWs are imaged, mosaicked,
searched, and the detections scored against the truth tables
(:func:`skygallery.science.validation.score_detections`).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from astropy.io import fits

from skygallery.science.osa_images import read_sky_images
from skygallery.science.simulate.archive import simulate_archive
from skygallery.science.simulate.plan import Observation
from skygallery.science.simulate.sky import SkyModel
from skygallery.science.validation import Score, collect_truth, score_detections

from .layout import open_archive
from .products import run_imaging

__all__ = ["BANDS", "FIELDS", "FieldResult", "run_scenario"]

FIELDS = {"GC": ("Galactic Centre", 266.417, -29.008, "5x5"), "Crab": ("Crab", 83.633, 22.014, "hex")}
BANDS = {"ISGR": ((20.0, 40.0), "RATE_20_40"), "JMX1": ((3.0, 20.0), "RATE_3_20")}


@dataclass
class FieldResult:
    field: str
    instrument: str
    n_scw: int
    score: Score
    seconds: float


def run_scenario(root: str | os.PathLike, catalog, n_gc: int = 20, n_crab: int = 7, instruments=("ISGR",),
                 seed: int = 1, rev: int = 665, sky_radius_deg: float = 15.0) -> list[FieldResult]:
    """Simulate, image and score both fields; returns one result per field and instrument."""
    root = Path(root)
    plan = [("GC", n_gc), ("Crab", n_crab)]
    observations, sources = [], {}
    for key, n in plan:
        name, ra, dec, pattern = FIELDS[key]
        if n > 0:
            observations.append(Observation(name, ra, dec, pattern, n, obsid=f"{rev:04d}{key}"[:16],
                                            title=f"validation {key}"))
            for s in SkyModel.from_catalog(catalog, (ra, dec), sky_radius_deg, mcrab_default=None).sources:
                sources[s.name] = s
    simulate_archive(root / "archive", rev, observations, SkyModel(list(sources.values())), seed=seed,
                     instruments=instruments)
    archive = open_archive(root / "archive")
    results = []
    for key, n in plan:
        if n <= 0:
            continue
        records = [r for r in archive.records if r.obsid == f"{rev:04d}{key}"[:16]]
        for inst in instruments:
            band, column = BANDS[inst]
            started = time.perf_counter()
            run = run_imaging(records, root / f"products_{key}_{inst}", inst, band, catalog)
            truth_tables = [fits.getdata(r.path / "truth.fits", f"TRUTH-{inst}") for r in records]
            truth = collect_truth(truth_tables, column, min_rate=0.0)
            score = score_detections(run.detections, truth, read_sky_images(run.mosaic),
                                     psf_fwhm_arcmin=12.0 if inst == "ISGR" else 3.3)
            results.append(FieldResult(key, inst, len(records), score, time.perf_counter() - started))
    return results
