"""Helpers shared by the extraction commands (``spectrum``, ``lightcurve``, ``spiacs-lc``): instrument
tags, source resolution, output names, JSON-safe values, and the binned-cache and worker options.

Light module (standard library and typer only at import time), like every command module.
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path

from skygallery.gallery.errors import InvalidInput

PANEL = "Science engine"
TAGS = {"ISGR": "isgri", "JMX1": "jmx1", "JMX2": "jmx2"}
DEFAULT_RADIUS = {"ISGR": 10.0, "JMX1": 5.0, "JMX2": 5.0}


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9+.-]+", "_", text.strip()).strip("_") or "source"


def json_clean(value):
    """JSON-safe: NaN/inf → None, numpy scalars → float."""
    if isinstance(value, dict):
        return {k: json_clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_clean(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def resolve_source(catalog, source: str | None, ra: float | None, dec: float | None):
    from skygallery.science.fit_shadowgram import FitSource
    if (ra is None) != (dec is None):
        raise InvalidInput(("ra/dec", "give both RA and Dec (deg)"))
    if ra is not None:
        if not (0 <= ra < 360 and -90 <= dec <= 90):
            raise InvalidInput(("ra/dec", f"RA must be in [0, 360) and Dec in [-90, 90] deg, got {ra}, {dec}"))
        return FitSource(source or f"J{ra:.3f}{dec:+.3f}", ra, dec)
    if not source:
        raise InvalidInput(("source", "give --source NAME (reference catalog) or --ra/--dec"))
    found = catalog.lookup(source)
    if found is None:
        raise InvalidInput(("source", f"{source!r} is not in the reference catalog; give --ra/--dec"))
    return FitSource(found.name, found.ra_deg, found.dec_deg)


CACHE_HELP = ("Binned cache folder: per ScW, the detector counts of the band(s) (and time bins), made once "
              "from the events and reused by later runs (default: $SKYGALLERY_HOME/cache/binned, i.e. "
              "~/.skygallery/cache/binned).")
WORKERS_HELP = "Processes reading and binning the ScWs not cached yet (default: the number of CPU cores)."


def cache_dir_option(cache: Path | None, no_cache: bool) -> Path | None:
    """The binned cache folder to use (None with --no-cache); InvalidInput when it cannot be created."""
    if no_cache:
        if cache is not None:
            raise InvalidInput(("cache", "give either --cache DIR or --no-cache"))
        return None
    from skygallery.archive.binned import default_cache_dir
    folder = Path(cache).expanduser() if cache is not None else default_cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InvalidInput(("cache", f"{folder}: cannot create the folder ({exc.strerror or exc})")) from None
    if not os.access(folder, os.W_OK):
        raise InvalidInput(("cache", f"{folder}: not writable"))
    return folder


def check_workers(workers: int | None) -> None:
    """Validate --workers, and give this process one BLAS thread (unless the environment chose):
    it fits ScWs itself, and the many small products of the shadowgram fits run ~2× slower with
    two BLAS threads per process (set before numpy loads; the CLI imports numpy lazily)."""
    if workers is not None and workers < 1:
        raise InvalidInput(("workers", f"must be >= 1, got {workers}"))
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
