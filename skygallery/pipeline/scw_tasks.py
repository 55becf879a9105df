"""Per-ScW tasks, run by the executors (module-level functions with picklable arguments).

:func:`process_scw` — the only step that reads a ScW's events. For one ScW and instrument it
writes, into the cache (:mod:`.cache`):

* the ScW sky images of the imaging band (OSA layout: INTENSITY, VARIANCE, SIGNIFICANCE,
  RESIDUAL, EXPOSURE), cleaned with the reference catalog
  (:func:`skygallery.science.imaging.scw_image.make_scw_images`);
* the *binned cube* (:mod:`skygallery.archive.binned`): detector counts per band (the spectral
  channels and the imaging band) and, for light curves in time bins, counts of the imaging band per
  time bin, with the pixel efficiency, pointing, exposure and times;
* a small JSON summary, written last: its presence marks the entry complete.

:func:`fit_scw_rates` — fits source rates to a cube (:func:`skygallery.archive.binned.rates_from_cube`: one
PIF per source, reused for every band and time bin) without touching the events again, so
detections made later on the mosaic, or long-term source runs months later, cost no event reading.

Time bins cut [TSTART, TSTOP] of the ScW into bins of the light-curve bin (the last one shorter,
:func:`skygallery.archive.binned.time_grid`); a bin's exposure is the ScW exposure times its share of
the ScW duration (dead time spread evenly), as in :func:`skygallery.science.extract.scw_rates`.
"""
from __future__ import annotations

import functools
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .cache import atomic_write

__all__ = ["RatesTask", "ScwResult", "ScwTask", "fit_scw_rates", "instrument_for", "load_rates", "process_scw"]


@dataclass(frozen=True)
class ScwTask:
    """One ScW and instrument to image and bin; paths are cache entries (see :class:`.cache.ScwCache`)."""

    scw_id: str
    scw_path: str
    instrument: str                              # isgri, jemx1, jemx2
    prefix: str                                  # ISGR, JMX1, JMX2
    band: tuple[float, float]                    # imaging band, keV
    binned_bands: tuple[tuple[float, float], ...]
    lc_bin_s: float | None
    clean_excess_sigma: float
    catalog: str
    image_path: str
    cube_path: str
    summary_path: str


@dataclass
class ScwResult:
    """What a ScW task produced (or why it could not): times IJD, exposure s, pointing deg."""

    scw_id: str
    instrument: str
    ok: bool
    message: str = ""
    image_path: str = ""
    cube_path: str = ""
    exposure_s: float = 0.0
    tstart_ijd: float = math.nan
    tstop_ijd: float = math.nan
    ra_deg: float = math.nan
    dec_deg: float = math.nan
    n_events: int = 0
    seconds: float = 0.0
    cached: bool = False


def instrument_for(prefix: str, efficiency: np.ndarray | None):
    """The instrument with the dead pixels of ``efficiency`` (:func:`skygallery.archive.binned.instrument_for`)."""
    from skygallery.archive.binned import instrument_for as binned_instrument
    return binned_instrument(prefix, efficiency)


@functools.lru_cache(maxsize=4)
def _catalog(path: str):
    from skygallery.science.catalog import load_reference_catalog
    return load_reference_catalog(path or None)


def _save_npz(path: Path, arrays: dict, compress: bool = False) -> None:
    with path.open("wb") as handle:
        (np.savez_compressed if compress else np.savez)(handle, **arrays)


def _write_cube(task: ScwTask, data) -> None:
    """The ScW's binned cube (:mod:`skygallery.archive.binned`), with the time bins of the imaging band."""
    from skygallery.archive.binned import make_cube, write_cube
    with_times = bool(task.lc_bin_s) and data.time_ijd is not None
    cube = make_cube(data, task.prefix, list(task.binned_bands), task.band if with_times else None,
                     task.lc_bin_s if with_times else None)
    write_cube(task.cube_path, cube)


def _summary(task: ScwTask, data=None, message: str = "", seconds: float = 0.0) -> ScwResult:
    if data is None:
        return ScwResult(task.scw_id, task.instrument, False, message, seconds=seconds)
    return ScwResult(task.scw_id, task.instrument, True, "", task.image_path, task.cube_path, data.exposure_s,
                     float(data.header["TSTART"]), float(data.header["TSTOP"]), data.pointing.ra_deg,
                     data.pointing.dec_deg, int(data.energy_kev.size), seconds)


def process_scw(task: ScwTask) -> ScwResult:
    """Image and bin one ScW (module docstring); a cached result is returned without reading anything.

    A ScW without this instrument's events (or with an unreadable event file) is not an error of the
    run: the result says why (``ok=False``) and the ScW is left out of this instrument's products.
    """
    summary = Path(task.summary_path)
    if summary.is_file():
        result = ScwResult(**json.loads(summary.read_text()))
        result.cached = True
        return result
    started = time.perf_counter()
    from skygallery.archive.events import read_scw
    from skygallery.science.imaging.clean import CleanConfig
    from skygallery.science.imaging.scw_image import make_scw_images, write_scw_images
    try:
        data = read_scw(task.scw_path, task.prefix)
    except ValueError as exc:
        result = _summary(task, message=str(exc), seconds=time.perf_counter() - started)
    else:
        inst = instrument_for(task.prefix, data.efficiency)
        sky, _ = make_scw_images(data.det_y, data.det_x, data.energy_kev, task.band, inst, data.exposure_s,
                                 data.pointing, data.header, _catalog(task.catalog),
                                 CleanConfig(excess_sigma=task.clean_excess_sigma))
        atomic_write(Path(task.image_path), lambda tmp: write_scw_images(tmp, sky))
        _write_cube(task, data)
        result = _summary(task, data, seconds=time.perf_counter() - started)
    atomic_write(summary, lambda tmp: tmp.write_text(json.dumps(asdict(result))))
    return result


# ------------------------------------------------------------------------------------------ rates

@dataclass(frozen=True)
class RatesTask:
    """Fit ``sources`` ((name, ra_deg, dec_deg) triples) to one cached cube; result cached at ``out_path``."""

    scw_id: str
    instrument: str
    prefix: str
    cube_path: str
    sources: tuple[tuple[str, float, float], ...]
    out_path: str


def fit_scw_rates(task: RatesTask) -> str:
    """Rates (counts/s, on-axis equivalent) of the sources in every band of the cube, and in the time
    bins of the imaging band when the cube has them; saved as ``.npz`` at ``task.out_path``."""
    out = Path(task.out_path)
    if out.is_file():
        return str(out)
    from skygallery.archive.binned import rates_from_cube, read_cube
    from skygallery.science.fit_shadowgram import FitSource
    cube = read_cube(task.cube_path)
    cube.scw_id = task.scw_id
    whole, timed = rates_from_cube(cube, task.prefix, [FitSource(*s) for s in task.sources])
    arrays = {"rate": whole.rate, "rate_err": whole.rate_err, "bands": cube.bands, "times": cube.times,
              "coded_fraction": whole.coded_fraction, "chi2_red": whole.chi2_red,
              "names": np.array([s[0] for s in task.sources], dtype="U128")}
    if timed is not None:
        arrays.update(trate=timed.rate[:, 0, :], trate_err=timed.rate_err[:, 0, :], tbins=cube.tbins)
    atomic_write(out, lambda tmp: _save_npz(tmp, arrays))
    return str(out)


def load_rates(path: str, scw_id: str):
    """The cached rates of one ScW as (whole-ScW ``ScwRates`` over all bands, time-binned ``ScwRates``
    of the imaging band or None) — the inputs of the spectrum and light-curve builders."""
    from skygallery.science.extract import ScwRates
    with np.load(path) as f:
        d = {k: f[k] for k in f.files}
    t0, t1, exposure = (float(v) for v in d["times"])
    bands = [tuple(float(v) for v in b) for b in d["bands"]]
    names = [str(n) for n in d["names"]]
    whole = ScwRates(scw_id, t0, t1, exposure, bands, names, d["rate"], d["rate_err"], None, None,
                     d["coded_fraction"], None, d["chi2_red"])
    timed = None
    if "trate" in d:
        starts, stops, expo = d["tbins"]
        timed = ScwRates(scw_id, t0, t1, exposure, [bands[-1]], names, d["trate"][:, None, :],
                         d["trate_err"][:, None, :], starts, stops, d["coded_fraction"], expo)
    return whole, timed
