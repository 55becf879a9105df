"""The binned level: per ScW and instrument, detector counts per energy band (and per time bin of
one band) with the pixel efficiency, pointing and times — made once from the events, then read by
the spectrum and light-curve steps instead of the events.

OSA works the same way: its spectral and light-curve extractions start from the binned
shadowgrams (ISGRI BIN_S/BIN_I), not from the event lists. Reading a gzipped event list costs
~0.1–0.2 s per ScW; reading its binned cube a few ms.

Cube (``.npz``, :class:`BinnedCube`): ``counts`` (n_bands, ny, nx) int32; ``bands`` (n_bands, 2)
keV (E_MIN ≤ E < E_MAX); ``efficiency`` (ny, nx) float32 (0 on dead pixels and gaps); ``pointing``
(RA, Dec, position angle, deg); ``times`` (TSTART, TSTOP in IJD, EXPOSURE in s); optionally
``tcounts`` (n_tbins, ny, nx) int32 of the band ``tband`` (keV, one of ``bands``; the last band
when absent) in the time bins ``tbins`` (3, n_tbins: start IJD, stop IJD, exposure s — the ScW
cut into bins of the light-curve bin, the last one shorter, dead time spread evenly).

Cache: ``<cache>/<RRRR>/<ScW id>/<prefix>/binned-<key>.npz``, ``key`` a digest of the ScW id, its
data version (NRT/CONS), instrument, bands, time band and bin, the software version
(skygallery's and :data:`BINNED_VERSION`) and the size and modification time of the event file
(a re-simulated or re-delivered ScW gets a new entry, never a stale one). Entries are written to
a temporary file and renamed into place (``os.replace``), so a cube exists only when complete and
concurrent runs never read a partial one. Default folder: :func:`default_cache_dir`.

Parallel runs (:func:`run_jobs`, ``workers`` processes in all): the calling process is one of
them. ScWs without a cached cube (read events, bin, write the cube, fit) are shared between a pool
of ``workers − 1`` processes, each with one BLAS thread (``OPENBLAS_NUM_THREADS=1`` and friends),
and the calling process, which takes them from the other end of the queue — so it works while the
pool starts. ScWs whose cube is cached (a few to tens of ms each, less than starting a worker) are
fitted in the calling process, and shared with the pool too when fitting them all here would take
longer than :data:`POOL_WORTH_S`. Pool processes are forked from a fork server that imported the
science code once (no per-worker import cost, no fork of the caller's threads; ``spawn`` where
unavailable), started by a helper thread while this process already works; if the pool cannot
start, everything runs here (with a warning). As with any Python process pool that does not fork
the caller, a script calling this with more than one worker needs the ``if __name__ ==
"__main__":`` guard.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from skygallery.science.attitude import Pointing
from skygallery.science.extract import (
    ScwRates,
    band_shadowgrams,
    check_bands,
    fit_binned,
    scw_times,
    time_shadowgrams,
    with_efficiency,
)
from skygallery.science.extract import time_grid as _time_grid
from skygallery.science.fit_shadowgram import FitSource

from .cachefiles import atomic_write, data_version, input_identity, software_version
from .events import EVENT_FILES, read_scw
from .processes import THREAD_ENV, default_workers, single_threaded
from .products import INSTRUMENTS

__all__ = ["BINNED_VERSION", "BinnedCube", "ScwJob", "ScwOutcome", "cube_path", "default_cache_dir",
           "default_workers", "detector_rates", "instrument_for", "make_cube", "process_job", "rates_from_cube",
           "read_cube", "run_jobs", "time_cube", "time_grid", "write_cube"]

BINNED_VERSION = 1
POOL_WORTH_S = 3.0        # cached ScWs are handed to the pool when fitting them here would take longer
REQUIRED = ("counts", "bands", "efficiency", "pointing", "times")


@dataclass
class BinnedCube:
    """One ScW and instrument at the binned level (see the module docstring for the arrays)."""

    counts: np.ndarray
    bands: np.ndarray
    efficiency: np.ndarray
    pointing: np.ndarray
    times: np.ndarray
    tcounts: np.ndarray | None = None
    tbins: np.ndarray | None = None
    tband: np.ndarray | None = None
    scw_id: str = ""
    prefix: str = ""

    @property
    def band_list(self) -> list[tuple[float, float]]:
        return [(float(a), float(b)) for a, b in self.bands]

    @property
    def exposure_s(self) -> float:
        return float(self.times[2])

    @property
    def time_band(self) -> tuple[float, float] | None:
        if self.tcounts is None:
            return None
        return tuple(float(v) for v in (self.tband if self.tband is not None else self.bands[-1]))

    def pointing_obj(self) -> Pointing:
        ra, dec, pa = (float(v) for v in self.pointing)
        return Pointing(ra, dec, pa)


# ------------------------------------------------------------------------------------ binning

def time_grid(t0_ijd: float, t1_ijd: float, bin_s: float) -> tuple[np.ndarray, np.ndarray]:
    """(starts, stops) IJD of bins of ``bin_s`` seconds covering the ScW, the last one shorter."""
    return _time_grid(t0_ijd, t1_ijd, bin_s)


def time_cube(data, band: tuple[float, float], starts: np.ndarray, stops: np.ndarray,
              shape: tuple[int, int]) -> np.ndarray:
    """Counts (n_tbins, ny, nx) int32 of the events of ``band`` (keV) in the bins [start, stop)."""
    if data.time_ijd is None:
        raise ValueError("time_bin_s: the event list has no TIME column")
    return time_shadowgrams(data.det_y, data.det_x, data.energy_kev, data.time_ijd, band, starts, stops, shape,
                            dtype=np.int32)


def instrument_for(prefix: str, efficiency: np.ndarray | None = None):
    """The instrument ``prefix`` (ISGR, JMX1, JMX2) with the dead pixels (≤ 0) of ``efficiency``; one
    object per dead-pixel pattern and process (see :func:`~skygallery.science.extract.with_efficiency`)."""
    if prefix not in INSTRUMENTS:
        raise ValueError(f"instrument: unknown {prefix!r} ({', '.join(INSTRUMENTS)})")
    base = _BASE.get(prefix)
    if base is None:
        base = _BASE[prefix] = INSTRUMENTS[prefix][0]()
    return with_efficiency(base, efficiency)


_BASE: dict = {}


def make_cube(data, prefix: str, bands: Sequence[tuple[float, float]], time_band: tuple[float, float] | None = None,
              time_bin_s: float | None = None) -> BinnedCube:
    """The cube of one ScW's events (``ScwData`` from :func:`~skygallery.archive.events.read_scw`);
    with ``time_bin_s``, also the counts per time bin of ``time_band`` (one of ``bands``, default
    the last)."""
    bands = check_bands(bands)
    inst = instrument_for(prefix, data.efficiency)
    shape = inst.detector.shape
    t0, t1 = scw_times(data)
    cube = BinnedCube(band_shadowgrams(data.det_y, data.det_x, data.energy_kev, bands, shape, dtype=np.int32),
                      np.array(bands, float), inst.efficiency.astype(np.float32),
                      np.array([data.pointing.ra_deg, data.pointing.dec_deg, data.pointing.posangle_deg]),
                      np.array([t0, t1, data.exposure_s]), scw_id=str(data.swid), prefix=prefix)
    if time_bin_s is None:
        return cube
    band = tuple(float(v) for v in (time_band if time_band is not None else bands[-1]))
    if not any(np.allclose(band, b) for b in bands):
        raise ValueError(f"time_band: {band} is not one of the bands")
    starts, stops = time_grid(t0, t1, float(time_bin_s))
    cube.tcounts = time_cube(data, band, starts, stops, shape)
    cube.tbins = np.stack([starts, stops, data.exposure_s * (stops - starts) / (t1 - t0)])
    cube.tband = np.array(band)
    return cube


# ------------------------------------------------------------------------------------ files

def _save(path: Path, arrays: dict, compress: bool) -> None:
    """An ``.npz`` (what :func:`numpy.load` reads) deflated at level 1: counts are small integers,
    so it is ~6× smaller than raw at ~1/7 of the time of numpy's default level."""
    import zipfile
    mode = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with zipfile.ZipFile(path, "w", compression=mode, compresslevel=1 if compress else None) as zf:
        for name, arr in arrays.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as handle:
                np.lib.format.write_array(handle, np.asanyarray(arr), allow_pickle=False)


def write_cube(path: str | os.PathLike, cube: BinnedCube, compress: bool = True) -> Path:
    """Write ``cube`` atomically (temporary file in the same folder, then ``os.replace``)."""
    path = Path(path)
    arrays = {"counts": np.asarray(cube.counts, np.int32), "bands": np.asarray(cube.bands, float),
              "efficiency": np.asarray(cube.efficiency, np.float32), "pointing": np.asarray(cube.pointing, float),
              "times": np.asarray(cube.times, float),
              "meta": np.array(json.dumps({"scw_id": cube.scw_id, "prefix": cube.prefix, "version": BINNED_VERSION}))}
    if cube.tcounts is not None:
        arrays.update(tcounts=np.asarray(cube.tcounts, np.int32), tbins=np.asarray(cube.tbins, float))
        if cube.tband is not None:
            arrays["tband"] = np.asarray(cube.tband, float)
    return atomic_write(path, lambda tmp: _save(tmp, arrays, compress))


def read_cube(path: str | os.PathLike) -> BinnedCube:
    """Read a cube written by :func:`write_cube` (or by the pipeline: same arrays); ValueError naming
    the file and the array when it is unreadable or incomplete."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    except FileNotFoundError:
        raise ValueError(f"{path}: cube: no such file") from None
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"{path}: cube: unreadable ({exc})") from None
    missing = [k for k in REQUIRED if k not in arrays]
    if missing:
        raise ValueError(f"{path}: {missing[0]}: missing from the cube")
    counts, bands = arrays["counts"], arrays["bands"]
    if counts.ndim != 3 or bands.shape != (counts.shape[0], 2) or arrays["efficiency"].shape != counts.shape[1:]:
        raise ValueError(f"{path}: counts: shape {counts.shape} does not match bands {bands.shape} and "
                         f"efficiency {arrays['efficiency'].shape}")
    if ("tcounts" in arrays) != ("tbins" in arrays):
        raise ValueError(f"{path}: tbins: tcounts and tbins must come together")
    meta = json.loads(str(arrays["meta"])) if "meta" in arrays else {}
    return BinnedCube(counts, bands, arrays["efficiency"], arrays["pointing"], arrays["times"],
                      arrays.get("tcounts"), arrays.get("tbins"), arrays.get("tband"),
                      str(meta.get("scw_id", "")), str(meta.get("prefix", "")))


def default_cache_dir() -> Path:
    """``$SKYGALLERY_HOME/cache/binned`` (``~/.skygallery/cache/binned`` by default)."""
    return Path(os.environ.get("SKYGALLERY_HOME", Path.home() / ".skygallery")).expanduser() / "cache" / "binned"


def cube_path(cache_dir: str | os.PathLike, scw_id: str, scw_dir: str | os.PathLike, prefix: str,
              bands: Sequence[tuple[float, float]], time_band: tuple[float, float] | None = None,
              time_bin_s: float | None = None) -> Path:
    """Where the cube of this ScW, instrument, bands and time binning lives (module docstring)."""
    scw_id = str(scw_id)
    key = {"scw_id": scw_id, "data_version": data_version(scw_id),
           "prefix": prefix, "bands": [[float(a), float(b)] for a, b in check_bands(bands)],
           "time_band": None if time_bin_s is None else
           [float(v) for v in (time_band if time_band is not None else bands[-1])],
           "time_bin_s": None if time_bin_s is None else float(time_bin_s),
           "software": [software_version(), BINNED_VERSION],
           "events": input_identity(Path(scw_dir) / EVENT_FILES[prefix])}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    return Path(cache_dir) / scw_id[:4] / scw_id / prefix.lower() / f"binned-{digest}.npz"


# ------------------------------------------------------------------------------------ rates

def rates_from_cube(cube: BinnedCube, inst, sources: Sequence[FitSource]) -> tuple[ScwRates, ScwRates | None]:
    """Rates (counts/s, on-axis equivalent) of ``sources`` in every band of the cube, and per time bin
    of its time band when it has one: (whole-ScW ``ScwRates`` (n_bands, n_src), time-binned
    ``ScwRates`` (n_tbins, 1, n_src) or None). ``inst``: an instrument or its prefix; the cube's
    efficiency map gives the dead pixels."""
    base = instrument_for(inst) if isinstance(inst, str) else inst
    fitted = with_efficiency(base, cube.efficiency)
    t0, t1, exposure = (float(v) for v in cube.times)
    return fit_binned(cube.scw_id, fitted, cube.pointing_obj(), sources, cube.band_list, cube.counts, exposure,
                      t0, t1, cube.tcounts, cube.tbins, cube.time_band)


def detector_rates(cube: BinnedCube) -> tuple[np.ndarray, np.ndarray | None]:
    """Count rates (counts/s) on the working pixels: per band (n_bands,), and per time bin of the
    time band (n_tbins,; NaN for bins without exposure) or None."""
    working = np.asarray(cube.efficiency) > 0
    whole = cube.counts[:, working].sum(axis=1) / cube.exposure_s
    if cube.tcounts is None:
        return whole, None
    expo = np.asarray(cube.tbins[2], float)
    counts = cube.tcounts[:, working].sum(axis=1)
    return whole, np.divide(counts, expo, out=np.full(expo.size, np.nan), where=expo > 0)


# ------------------------------------------------------------------------------------ jobs

@dataclass(frozen=True)
class ScwJob:
    """One ScW and instrument to bring to the binned level and fit (picklable)."""

    scw_id: str
    scw_dir: str
    prefix: str
    sources: tuple[FitSource, ...]
    bands: tuple[tuple[float, float], ...]
    time_band: tuple[float, float] | None = None
    time_bin_s: float | None = None
    cache_path: str | None = None          # None: bin in memory, write nothing

    def is_cached(self) -> bool:
        return self.cache_path is not None and os.path.isfile(self.cache_path)


@dataclass
class ScwOutcome:
    """Rates of one job (or why the ScW was skipped), detector count rates, CPU seconds per step
    (``read_events``, ``bin`` — binning and writing the cube —, ``read_cube``, ``fit``)."""

    scw_id: str
    whole: ScwRates | None = None
    timed: ScwRates | None = None
    detector_rate: np.ndarray | None = None
    tdetector_rate: np.ndarray | None = None
    skipped: str = ""
    cached: bool = False
    seconds: dict = field(default_factory=dict)
    peak_rss_mb: float = float("nan")
    pid: int = 0


def _peak_rss_mb() -> float:
    try:
        import resource
    except ImportError:
        return float("nan")
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _load_cached(job: ScwJob) -> BinnedCube | None:
    if not job.is_cached():
        return None
    try:
        cube = read_cube(job.cache_path)
    except ValueError:
        return None                      # unreadable entry: rebuilt from the events and replaced
    same = cube.counts.shape[0] == len(job.bands) and np.allclose(cube.bands, np.array(job.bands, float))
    return cube if same and (job.time_bin_s is None or cube.tcounts is not None) else None


def process_job(job: ScwJob) -> ScwOutcome:
    """Cube of the job (from the cache, else from the events — then cached), its rates and detector
    rates. A ScW without this instrument's events (or an unreadable event file) is skipped."""
    seconds = dict.fromkeys(("read_events", "bin", "read_cube", "fit"), 0.0)
    t = time.process_time()
    cube = _load_cached(job)
    seconds["read_cube"] = time.process_time() - t
    cached = cube is not None
    if cube is None:
        t = time.process_time()
        try:
            data = read_scw(job.scw_dir, job.prefix)
        except ValueError as exc:
            return ScwOutcome(job.scw_id, skipped=f"{job.scw_id}: {exc}", seconds=seconds, pid=os.getpid())
        t1 = time.process_time()
        seconds["read_events"] = t1 - t
        cube = make_cube(data, job.prefix, job.bands, job.time_band, job.time_bin_s)
        del data
        if job.cache_path is not None:
            write_cube(job.cache_path, cube)
        seconds["bin"] = time.process_time() - t1
    t = time.process_time()
    cube.scw_id = cube.scw_id or job.scw_id
    whole, timed = rates_from_cube(cube, job.prefix, job.sources)
    rate, trate = detector_rates(cube)
    seconds["fit"] = time.process_time() - t
    return ScwOutcome(job.scw_id, whole, timed, rate, trate, "", cached, seconds, _peak_rss_mb(), os.getpid())


def _pool(workers: int) -> ProcessPoolExecutor:
    """A pool of ``workers`` processes with one BLAS thread each (module docstring)."""
    import multiprocessing
    try:
        ctx = multiprocessing.get_context("forkserver")
    except ValueError:
        ctx = multiprocessing.get_context("spawn")
    saved = {name: os.environ.get(name) for name in THREAD_ENV}
    os.environ.update(dict.fromkeys(THREAD_ENV, "1"))     # read by the server / spawned workers at start
    if ctx.get_start_method() != "forkserver":
        return ProcessPoolExecutor(workers, mp_context=ctx, initializer=single_threaded)
    try:
        from multiprocessing import forkserver
        ctx.set_forkserver_preload(["__main__", __name__])
        forkserver.ensure_running()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return ProcessPoolExecutor(workers, mp_context=ctx, initializer=single_threaded)


class _Runner:
    """Runs jobs in this process and a pool of ``workers − 1`` processes (see :func:`run_jobs`).

    The pool is started by a helper thread (a fork server takes ~1 s to import the science code),
    so this process works on the queue meanwhile; ``lock`` guards the queue and the futures."""

    def __init__(self, jobs: Sequence[ScwJob], workers: int, progress: Callable[[int], None] | None):
        self.jobs, self.workers, self.progress = list(jobs), workers, progress
        self.results: list[ScwOutcome | None] = [None] * len(self.jobs)
        self.done = 0
        self.pool: ProcessPoolExecutor | None = None
        self.futures: dict = {}
        self.lock = threading.Lock()
        self.starter: threading.Thread | None = None
        self.start_error: BaseException | None = None
        self.pool_failed = False

    def finish(self, i: int, outcome: ScwOutcome) -> None:
        self.results[i] = outcome
        self.done += 1
        if self.progress:
            self.progress(self.done)

    def start_pool(self, queue: list[int]) -> None:
        def start() -> None:
            try:
                pool = _pool(self.workers - 1)
                for _ in range(self.workers - 1):     # start the processes now, without the lock
                    pool.submit(os.getpid)
            except Exception as exc:                  # noqa: BLE001 — any failure: carry on here
                self.start_error = exc
                return
            with self.lock:
                self.pool = pool
                self.feed(queue)
        self.starter = threading.Thread(target=start, name="skygallery-pool-start", daemon=True)
        self.starter.start()

    def feed(self, queue: list[int]) -> None:
        """Keep every pool process busy with one job and one queued (the rest stay in ``queue``,
        where this process takes them from the other end). Call with ``lock`` held."""
        while self.pool is not None and queue and len(self.futures) < 2 * (self.workers - 1):
            i = queue.pop(0)
            self.futures[self.pool.submit(process_job, self.jobs[i])] = i

    def collect(self) -> None:
        """Record the pool's finished jobs (re-raising a job's error)."""
        with self.lock:
            finished = [(self.futures.pop(f), f) for f in list(self.futures) if f.done()]
        for i, fut in finished:
            self.finish(i, fut.result())

    def next_local(self, local: list[int], queue: list[int]) -> int | None:
        with self.lock:
            self.feed(queue)
            if local:
                return local.pop(0)
            return queue.pop() if queue else None

    def wait_pool(self) -> bool:
        """Wait for the pool (its start, then a job); False when nothing is left to wait for."""
        if self.starter is not None and self.starter.is_alive():
            self.starter.join(0.05)
            return True
        with self.lock:
            pending = list(self.futures)
        if not pending:
            return False
        wait(pending, return_when=FIRST_COMPLETED)
        return True

    def run(self) -> list[ScwOutcome]:
        cached = [j.is_cached() for j in self.jobs]
        local = [i for i, c in enumerate(cached) if c]            # cheap: fitted here
        queue = [i for i, c in enumerate(cached) if not c]        # events to read: pool and here
        if self.workers > 1 and len(queue) > 1:
            self.start_pool(queue)
        started, n_local = time.perf_counter(), 0
        try:
            while True:
                if self.start_error is not None:
                    warnings.warn(f"workers: the process pool could not start ({self.start_error}); "
                                  "running the ScWs in this process", RuntimeWarning, stacklevel=3)
                    self.start_error, self.starter, self.pool_failed = None, None, True
                i = self.next_local(local, queue)
                if i is not None:
                    self.finish(i, process_job(self.jobs[i]))
                    n_local += 1
                elif not self.wait_pool():
                    break
                self.collect()
                per_job = (time.perf_counter() - started) / max(n_local, 1)
                if (self.starter is None and not self.pool_failed and self.workers > 1 and n_local >= 3
                        and per_job * (len(local) + len(queue)) > POOL_WORTH_S):
                    with self.lock:
                        queue.extend(local)
                        local.clear()
                    self.start_pool(queue)
        finally:
            if self.starter is not None:
                self.starter.join()
            if self.pool is not None:
                self.pool.shutdown(wait=True, cancel_futures=True)
        return self.results


def run_jobs(jobs: Sequence[ScwJob], workers: int | None = None,
             progress: Callable[[int], None] | None = None) -> list[ScwOutcome]:
    """Outcomes of ``jobs`` in their order. ``workers`` processes in all (default: the CPU cores; this
    one included) bin the ScWs not cached yet; cached ones are fitted here unless that would take
    longer than :data:`POOL_WORTH_S` (module docstring). ``progress(n_done)`` is called here after
    each ScW. The first error raised by a job is re-raised (what finished is already cached)."""
    workers = default_workers() if workers is None else workers
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers: must be an integer >= 1, got {workers!r}")
    return _Runner(jobs, workers, progress).run()
