"""The per-revolution workflow: archive → ScW images → mosaics and detections → source light
curves and spectra → the gallery.

:func:`process_revolution` runs, for one revolution and data version (NRT or CONS):

1. **select** the revolution's pointing ScWs of that data version and group them into
   observations (:mod:`.observations`);
2. **ScWs** — per ScW and instrument, in the executor: sky images of the imaging band and the
   binned cube (:func:`.scw_tasks.process_scw`, cached per ScW);
3. **mosaics** — per observation and instrument: mosaic, detections at the threshold, files
   (:func:`.images.make_image_product`);
4. **rates** — per ScW and instrument: rates of the observation's detected sources in every band
   and time bin, fitted to the cached cube (:func:`.scw_tasks.fit_scw_rates`);
5. **sources** — per detected source: light curve and spectrum (:func:`.source_products.make_source_products`);
6. **publish** — observations with the revolution summary (:mod:`.summary`), one image product
   per observation and instrument, a light curve and a spectrum per source, the revolution's data
   status and a processing log (:mod:`.publish`; ``running`` at the start, ``success``/``failure``
   at the end with counts and timings).

Idempotent and resumable: every intermediate result is on disk (per-ScW cache, product folders),
product ids are stable, and only products that differ from the gallery's are posted. CONS after
NRT gives new versions of the same products (titles lose "(NRT)"), sets the revolution to CONS,
removes the products (gallery: soft delete; disk: folder) that only the NRT data gave, and the
NRT entries of the per-ScW cache. A revolution already CONS is not re-processed as NRT unless
``force``. One run per revolution and work folder at a time (a lock file enforces it).
"""
from __future__ import annotations

import fcntl
import logging
import os
import time
import traceback
from collections import Counter
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from skygallery.archive.cachefiles import input_identity
from skygallery.archive.events import EVENT_FILES

from .cache import ScwCache
from .config import (
    ARCHIVE_PREFIX,
    INSTRUMENT_LABEL,
    PRODUCT_FAMILY,
    PipelineConfig,
    digest,
)
from .executors import Executor, LocalExecutor
from .folders import ProductFolder, slug
from .images import ImageTask, make_image_product
from .observations import group_observations, select_revolution
from .progress import NullProgress, Progress
from .provenance import WORKFLOW_REVOLUTION, Provenance
from .publish import Publisher, publish_observation, publish_product
from .scw_tasks import RatesTask, ScwTask, fit_scw_rates, process_scw
from .source_products import SourceTask, make_source_products, response_files
from .summary import observation_entry, revolution_yaml, yaml_name

__all__ = ["RevolutionReport", "catalog_id", "process_revolution", "scw_tasks_for"]


@dataclass
class RevolutionReport:
    """What a revolution run did (counts, product ids, seconds per stage)."""

    rev: int
    data_version: str
    job_id: str = ""
    executor: str = ""
    observations: list[str] = field(default_factory=list)
    scws: dict = field(default_factory=dict)             # instrument -> {"ok", "skipped", "cached"}
    detections: dict = field(default_factory=dict)       # instrument -> count
    products: dict = field(default_factory=dict)         # family -> [product ids]
    actions: Counter = field(default_factory=Counter)    # created / new version / unchanged / removed
    timings: dict = field(default_factory=dict)          # stage -> seconds
    highlights: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)     # "<scw> <inst>: reason"

    @property
    def n_products(self) -> int:
        return sum(len(v) for v in self.products.values())

    def as_text(self) -> str:
        lines = [f"Revolution {self.rev} ({self.data_version}), job {self.job_id}, executor {self.executor}",
                 f"observations: {len(self.observations)} ({'; '.join(self.observations)})"]
        for inst, n in self.scws.items():
            lines.append(f"{inst}: {n['ok']} ScWs imaged ({n['cached']} from cache), {n['skipped']} without data, "
                         f"{self.detections.get(inst, 0)} detections")
        lines.append("products: " + ", ".join(f"{len(v)} {k}" for k, v in self.products.items()))
        lines.append("gallery: " + ", ".join(f"{n} {k}" for k, n in sorted(self.actions.items())))
        if self.highlights:
            lines.append("highlights: " + ", ".join(self.highlights))
        lines.append("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items()))
        lines += [f"skipped {s}" for s in self.skipped[:50]]
        return "\n".join(lines)


def catalog_id(path: str) -> str:
    """Identity of the reference catalog for cache keys: built-in, or path + size + mtime of its files."""
    if not path:
        return "builtin"
    p = Path(path).expanduser()
    files = sorted(p.glob("*.fits*")) if p.is_dir() else [p]
    return digest([(str(f), f.stat().st_size, int(f.stat().st_mtime)) for f in files if f.exists()])


@contextmanager
def _lock(workdir: Path, rev: int):
    path = workdir / "locks" / f"rev_{rev:04d}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ValueError(f"rev: revolution {rev} is being processed by another run in {workdir}") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def scw_tasks_for(records, config: PipelineConfig, cache: ScwCache, instruments: Sequence[str]) -> list[ScwTask]:
    """One :class:`ScwTask` per ScW and instrument, with its cache paths."""
    cat = catalog_id(config.catalog)
    tasks = []
    for rec in records:
        for inst in instruments:
            band = config.band(inst)
            events = input_identity(Path(rec.path) / EVENT_FILES[ARCHIVE_PREFIX[inst]])   # re-written ScW: new keys
            image_key = {"band": band, "clean_excess_sigma": config.clean_excess_sigma, "catalog": cat,
                         "events": events}
            cube_key = {"bands": config.binned_bands(inst), "lc_bin_s": config.lc_bin, "events": events}
            scw = str(rec.scw_id)
            tasks.append(ScwTask(scw, str(rec.path), inst, ARCHIVE_PREFIX[inst], band,
                                 tuple(config.binned_bands(inst)), config.lc_bin, config.clean_excess_sigma,
                                 config.catalog, str(cache.path(scw, inst, "image", image_key, "fits")),
                                 str(cache.path(scw, inst, "cube", cube_key, "npz")),
                                 str(cache.path(scw, inst, "summary", {**image_key, **cube_key}, "json"))))
    return tasks


class _Run:
    """State of one revolution run (see :func:`process_revolution`)."""

    def __init__(self, rev, data_version, archive, workdir, config, publisher, executor, progress, provenance,
                 scw_list):
        self.rev, self.dv, self.archive = int(rev), data_version, archive
        self.workdir, self.config, self.publisher = Path(workdir), config, publisher
        self.executor, self.progress, self.scw_list = executor, progress, list(scw_list)
        self.cache = ScwCache(self.workdir / "cache" / "scw")
        self.products_root = self.workdir / "products"
        self.report = RevolutionReport(self.rev, self.dv, executor=executor.describe())
        self.base_provenance = provenance

    # -- helpers ----------------------------------------------------------------------------------
    def _timed(self, name: str, started: float) -> None:
        self.report.timings[name] = self.report.timings.get(name, 0.0) + time.perf_counter() - started

    def _map(self, name: str, fn, items: list) -> list:
        started = time.perf_counter()
        with self.progress.stage(name, len(items)) as advance:
            results = self.executor.map(fn, items, lambda i, r: advance())
        self._timed(name.split(" ")[0].lower(), started)
        return results

    def _suffix(self) -> str:
        return " (NRT)" if self.dv == "NRT" else ""

    def _provenance(self, **extra) -> dict:
        return self.base_provenance.with_parameters(**extra).as_payload()

    # -- stages -----------------------------------------------------------------------------------
    def select(self):
        started = time.perf_counter()
        records = select_revolution(self.archive, self.rev, self.dv, self.scw_list)
        self.groups = group_observations(records, self.rev)
        self.report.observations = [g.title for g in self.groups]
        self._timed("select", started)

    def scws(self):
        tasks = scw_tasks_for([r for g in self.groups for r in g.records], self.config, self.cache,
                              self.config.instruments)
        results = self._map(f"ScWs ({len(tasks)} ScW × instrument)", process_scw, tasks)
        self.scw_results = {(r.scw_id, r.instrument): r for r in results}
        for inst in self.config.instruments:
            mine = [r for r in results if r.instrument == inst]
            self.report.scws[inst] = {"ok": sum(r.ok for r in mine), "skipped": sum(not r.ok for r in mine),
                                      "cached": sum(r.cached for r in mine if r.ok)}
        self.report.skipped += [f"{r.scw_id} {r.instrument}: {r.message}" for r in results if not r.ok]

    def _ok(self, group, inst):
        return [self.scw_results[(s, inst)] for s in group.scw_ids if self.scw_results[(s, inst)].ok]

    def mosaics(self):
        tasks, task_groups = [], {}
        cat = catalog_id(self.config.catalog)
        for g in self.groups:
            for inst in self.config.instruments:
                ok = self._ok(g, inst)
                if not ok:
                    continue
                paths = tuple(r.image_path for r in ok)
                inputs = digest({"images": [Path(p).name for p in paths], "threshold": self.config.detection_threshold,
                                 "catalog": cat, "software": self.cache.software, "title": g.title + self._suffix()})
                task_groups[f"rev{self.rev:04d}-{g.key}-{inst}-image"] = g
                tasks.append(ImageTask(f"rev{self.rev:04d}-{g.key}-{inst}-image", inst, ARCHIVE_PREFIX[inst],
                                       self.config.band(inst), paths, self.config.detection_threshold,
                                       self.config.catalog, str(self.products_root),
                                       f"{g.title}{self._suffix()} {INSTRUMENT_LABEL[inst]}", inputs))
        results = self._map(f"mosaics ({len(tasks)} observation × instrument)", make_image_product, tasks)
        self.images = {}
        for task, res in zip(tasks, results):
            group = task_groups[task.product_id]
            self.images[(group.key, res.instrument)] = (group, res, len(task.image_paths))
            self.report.detections[res.instrument] = self.report.detections.get(res.instrument, 0) + len(res.detections)

    def rates(self):
        tasks = []
        self.rates_paths = {}
        for (key, inst), (g, res, _) in self.images.items():
            if not res.detections:
                continue
            sources = tuple((d["name"], round(d["ra"], 6), round(d["dec"], 6)) for d in res.detections)
            for r in self._ok(g, inst):
                out = self.cache.path(r.scw_id, inst, "rates", {"cube": Path(r.cube_path).name, "sources": sources},
                                      "npz")
                tasks.append(RatesTask(r.scw_id, inst, ARCHIVE_PREFIX[inst], r.cube_path, sources, str(out)))
                self.rates_paths.setdefault((key, inst), []).append((r.scw_id, str(out)))
        self._map(f"rates ({len(tasks)} ScW × instrument)", fit_scw_rates, tasks)

    def sources(self):
        tasks = []
        self.source_groups = {}
        responses = {}
        rdir = self.workdir / "cache" / "responses"
        for (key, inst), (g, res, _) in self.images.items():
            if not res.detections:
                continue
            family = "isgri" if inst == "isgri" else "jemx"
            edges = self.config.isgri_spectral_edges_keV if inst == "isgri" else self.config.jemx_spectral_edges_keV
            if family not in responses:
                responses[family] = response_files(rdir, inst, edges)
            rmf, arf = responses[family]
            rates = tuple(self.rates_paths[(key, inst)])
            for d in res.detections:
                src = {k: d[k] for k in ("name", "ra", "dec", "new_source")}
                base = f"rev{self.rev:04d}-{g.key}-{inst}"
                label = INSTRUMENT_LABEL[inst]
                inputs = digest({"rates": [Path(p).name for _, p in rates], "source": src,
                                 "software": self.cache.software, "lc_bin": self.config.lc_bin,
                                 "edges": list(edges), "dv": self.dv})
                self.source_groups[f"{base}-lc-{slug(d['name'])}"] = g
                tasks.append(SourceTask(f"{base}-lc-{slug(d['name'])}", f"{base}-spectrum-{slug(d['name'])}", src,
                                        inst, ARCHIVE_PREFIX[inst], self.config.band(inst), rates,
                                        self.config.lc_bin, str(self.products_root),
                                        f"{d['name']} {label} light curve Rev. {self.rev}{self._suffix()}",
                                        f"{d['name']} {label} spectrum Rev. {self.rev}{self._suffix()}",
                                        str(rmf), str(arf), inputs))
        results = self._map(f"sources ({len(tasks)} source × instrument)", make_source_products, tasks)
        self.source_results = list(zip(tasks, results))

    # -- publishing -------------------------------------------------------------------------------
    def publish(self):
        started = time.perf_counter()
        from skygallery.science import timesys
        iso = lambda t: timesys.isot(timesys.from_ijd(t), 3)
        n_items = len(self.groups) + len(self.images) + 2 * len(self.source_results)
        with self.progress.stage(f"publish to {self.publisher.where}", n_items) as advance:
            self._publish_observations(iso, advance)
            for (key, inst), (g, res, n_scw) in self.images.items():
                self._post(self._image_payload(g, inst, res, iso), res.files, "image")
                advance()
            for task, result in self.source_results:
                g = self.source_groups[task.lc_product_id]
                for kind in ("lc", "spectrum"):
                    if result[kind]["files"]:
                        self._post(self._source_payload(g, task, kind, result[kind], iso), result[kind]["files"],
                                   "lightcurve" if kind == "lc" else "spectrum")
                    advance()
        self._timed("publish", started)

    def _post(self, payload: dict, files, family: str) -> None:
        action = publish_product(self.publisher, payload, files)
        self.report.actions[action] += 1
        self.report.products.setdefault(family, []).append(payload["product_id"])
        if payload.get("highlight"):
            self.report.highlights.append(payload["title"])

    def _publish_observations(self, iso, advance):
        bands = {"isgri": self.config.band("isgri"), "jemx": self.config.band("jemx1")}
        entries = []
        for g in self.groups:
            images = {inst: (res, g.title + self._suffix(), n) for (key, inst), (gg, res, n) in self.images.items()
                      if key == g.key}
            entries.append(observation_entry(g, self.dv, iso(g.t1_ijd), iso(g.t2_ijd), bands, images))
        document = revolution_yaml(entries, self.base_provenance.software)
        name = yaml_name(self.rev, self.dv)
        (self.products_root / f"rev_{self.rev:04d}").mkdir(parents=True, exist_ok=True)
        (self.products_root / f"rev_{self.rev:04d}" / name).write_bytes(document)
        if self.dv == "CONS":   # the NRT summary stays attached in the gallery; on disk CONS replaces it
            (self.products_root / f"rev_{self.rev:04d}" / yaml_name(self.rev, "NRT")).unlink(missing_ok=True)
        for g in self.groups:
            payload = {"title": g.title, "t1": iso(g.t1_ijd), "t2": iso(g.t2_ijd), "obsids": [g.obsid] if g.obsid else [],
                       "expid": g.expid, "pi": g.pi, "proposal_title": g.proposal, "target": g.target,
                       "scw_list": g.scw_ids}
            self.report.actions[f"observation {publish_observation(self.publisher, payload, name, document)}"] += 1
            advance()

    def _common(self, g, inst, family_type, title, t1, t2, ra, dec, sources, provenance, **extra) -> dict:
        return {"title": title, "instrument": inst, "product_type": f"{PRODUCT_FAMILY[inst]}_{family_type}",
                "t1": t1, "t2": t2, "ra": ra, "dec": dec, "sources": sources, "create_sources": True,
                "observation": g.title, "data_version": self.dv, "provenance": provenance, **extra}

    def _image_payload(self, g, inst, res, iso) -> dict:
        e1, e2 = self.config.band(inst)
        refs = [_source_ref(d) for d in res.detections]
        detected = [{k: d[k] for k in ("name", "ra", "dec", "flux", "flux_err", "significance", "new_source")}
                    for d in res.detections]
        scws = [r.scw_id for r in self._ok(g, inst)]
        return {"product_id": res.product_id, **self._common(
            g, inst, "image", g.title + self._suffix(), iso(res.header.get("TSTART", g.t1_ijd)),
            iso(res.header.get("TSTOP", g.t2_ijd)), round(g.ra_deg, 6), round(g.dec_deg, 6), refs,
            self._provenance(scw_list=scws)), "e1_kev": e1, "e2_kev": e2, "detected_sources": detected}

    def _source_payload(self, g, task: SourceTask, kind: str, result: dict, iso) -> dict:
        stats, src, inst = result["stats"], task.source, task.instrument
        scws = [s for s, _ in task.rates]
        if kind == "lc":
            e1, e2 = task.band
            title, t1, t2 = task.lc_title, stats["t1_ijd"], stats["t2_ijd"]
            extra = {"time_bin_s": task.lc_bin_s or None, "highlight": bool(stats.get("highlight"))}
        else:
            e1, e2 = stats["e1_kev"], stats["e2_kev"]
            title, t1, t2 = task.spectrum_title, stats["t1_ijd"], stats["t2_ijd"]
            extra = {}
        ptype = "lc" if kind == "lc" else "spectrum"
        return {"product_id": result["product_id"], **self._common(
            g, inst, ptype, title, iso(t1), iso(t2), round(src["ra"], 6), round(src["dec"], 6), [_source_ref(src)],
            self._provenance(scw_list=scws, source_name=src["name"])), "e1_kev": e1, "e2_kev": e2, **extra}

    # -- after publishing -------------------------------------------------------------------------
    def remove_stale(self):
        """Products of this revolution and instruments that this run did not make (e.g. NRT-only detections)."""
        if self.scw_list:
            return   # a partial run (explicit ScW list) does not know what the full revolution makes
        made = {pid for ids in self.report.products.values() for pid in ids}
        insts = set(self.config.instruments)
        for p in self.publisher.revolution_products(self.rev):
            pid = p["product_id"]
            if pid.startswith(f"rev{self.rev:04d}-") and pid not in made and p["instrument"] in insts:
                self.publisher.delete_product(pid)
                ProductFolder(self.products_root, pid).remove()
                self.report.actions["removed"] += 1

    def finish(self):
        if self.dv == "CONS":
            self.publisher.set_revolution_status(self.rev, "CONS")
            self.cache.purge(self.rev, "NRT")
        elif self.publisher.revolution_status(self.rev) == "":
            self.publisher.set_revolution_status(self.rev, "NRT")


def _source_ref(d: dict) -> dict:
    ref = {"name": d["name"], "ra": round(float(d["ra"]), 6), "dec": round(float(d["dec"]), 6)}
    if d.get("new_source"):
        ref["object_type"] = "X"
    return ref


def process_revolution(rev: int, data_version: str, archive_root: str | os.PathLike, workdir: str | os.PathLike,
                       publisher: Publisher, config: PipelineConfig | None = None, executor: Executor | None = None,
                       progress: Progress | None = None, notebook: str = WORKFLOW_REVOLUTION,
                       scw_list: Sequence[str] = (), extra_parameters: dict | None = None,
                       force: bool = False) -> RevolutionReport:
    """Process one revolution into the gallery (module docstring); returns what was done.

    ``notebook``: the workflow or notebook recorded as the products' provenance;
    ``extra_parameters``: more notebook parameters to record (a notebook passes its own).
    """
    from skygallery.archive.layout import open_archive
    config = config or PipelineConfig()
    dv = str(data_version).upper()
    if dv not in ("NRT", "CONS"):
        raise ValueError(f"data_version: must be NRT or CONS, got {data_version!r}")
    archive = open_archive(archive_root)
    own_executor = executor is None
    executor = executor or LocalExecutor()
    params = {"rev_num": int(rev), "data_version": dv, **config.parameters(), **(extra_parameters or {})}
    params["scw_list"] = list(scw_list)
    job_id = f"rev{int(rev):04d}-{dv.lower()}-{digest(params, 10)}"
    provenance = Provenance.for_workflow(notebook, params, job_id)
    run = _Run(rev, dv, archive, workdir, config, publisher, executor, progress or NullProgress(), provenance,
               scw_list)
    run.report.job_id = job_id
    started = time.perf_counter()
    try:
        with _lock(run.workdir, run.rev):
            if dv == "NRT" and not force and publisher.revolution_status(run.rev) == "CONS":
                raise ValueError(f"data_version: revolution {rev} already has CONS products; NRT would replace "
                                 "them (use force to do it anyway)")
            run.cache.clean_temporary(run.rev)
            run.select()
            publisher.post_log({"revolution": run.rev, "job_id": job_id, "status": "running",
                                "text": f"started: {len(run.groups)} observations, executor {executor.describe()}"})
            run.scws()
            run.mosaics()
            run.rates()
            run.sources()
            run.publish()
            run.remove_stale()
            run.finish()
            run.report.timings["total"] = time.perf_counter() - started
            publisher.post_log({"revolution": run.rev, "job_id": job_id, "status": "success",
                                "text": run.report.as_text()})
    except Exception as exc:
        if hasattr(run, "groups"):
            _log_failure(publisher, run, job_id, exc)
        raise
    finally:
        if own_executor:
            executor.close()
    return run.report


def _log_failure(publisher: Publisher, run: _Run, job_id: str, exc: Exception) -> None:
    text = f"failed: {type(exc).__name__}: {exc}\n{run.report.as_text()}\n" + \
        "".join(traceback.format_exception_only(type(exc), exc))
    try:
        publisher.post_log({"revolution": run.rev, "job_id": job_id, "status": "failure", "text": text[:20000]})
    except Exception as log_exc:  # noqa: BLE001  the gallery may be what failed; the run's error is re-raised
        logging.getLogger(__name__).warning("could not record the failure of %s: %s", job_id, log_exc)
