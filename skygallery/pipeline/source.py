"""The source workflow: long-term products of one source over many revolutions.

:func:`process_source` for a source name (position from the reference catalog, or given) and a
time range (default: the whole archive):

1. ScWs pointed within ``radius`` of the source (ISGRI 15°, JEM-X 4°, as MMODA), the best data
   version of each (CONS, else NRT), in [t1, t2];
2. per instrument, the ScW images and cubes — from the per-ScW cache the revolution runs filled,
   so nothing is re-read — and a long-term mosaic with its detections;
3. rates of the mosaic's detected sources plus the target (all fitted together, so bright
   neighbours are modelled) in every ScW;
4. products of the target: the long-term mosaic, a light curve with one point per ScW, one with one
   point per revolution, and the cumulative spectrum (RMF/ARF) with its power-law fit. Their time
   span covers several revolutions, so the gallery shows them as long-term (span > 0) on the
   source page; a variable or flaring light curve is a highlight.

Product ids: ``src-<source>-<instrument>-<kind>-<rev1>-<rev2>``; provenance as for revolutions
(:mod:`.provenance`) with the source workflow or notebook and its parameters.
"""
from __future__ import annotations

import os
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .cache import ScwCache
from .config import (
    ARCHIVE_PREFIX,
    INSTRUMENT_LABEL,
    PRODUCT_FAMILY,
    PipelineConfig,
    digest,
)
from .executors import Executor, LocalExecutor
from .folders import slug
from .images import ImageTask, make_image_product
from .progress import NullProgress, Progress
from .provenance import WORKFLOW_SOURCE, Provenance
from .publish import Publisher, publish_product
from .revolution import catalog_id, scw_tasks_for
from .scw_tasks import RatesTask, fit_scw_rates, process_scw
from .source_products import SourceTask, make_source_products, response_files

__all__ = ["RADIUS_DEG", "SourceReport", "process_source", "resolve_position"]

RADIUS_DEG = {"isgri": 15.0, "jemx1": 4.0, "jemx2": 4.0}


@dataclass
class SourceReport:
    name: str
    ra_deg: float
    dec_deg: float
    revolutions: tuple[int, int] = (0, 0)
    scws: dict = field(default_factory=dict)          # instrument -> ScWs used
    products: dict = field(default_factory=dict)      # kind -> [product ids]
    actions: Counter = field(default_factory=Counter)
    highlights: list[str] = field(default_factory=list)
    stats: dict = field(default_factory=dict)         # instrument -> light-curve and spectral statistics
    timings: dict = field(default_factory=dict)

    @property
    def n_products(self) -> int:
        return sum(len(v) for v in self.products.values())

    def as_text(self) -> str:
        lines = [(f"{self.name} (RA {self.ra_deg:.4f}, Dec {self.dec_deg:.4f} deg), revolutions "
                  f"{self.revolutions[0]}-{self.revolutions[1]}"),
                 "ScWs: " + ", ".join(f"{k} {v}" for k, v in self.scws.items()),
                 "products: " + ", ".join(f"{len(v)} {k}" for k, v in self.products.items()),
                 "gallery: " + ", ".join(f"{n} {k}" for k, n in sorted(self.actions.items()))]
        if self.highlights:
            lines.append("highlights: " + ", ".join(self.highlights))
        lines.append("timings: " + ", ".join(f"{k} {v:.1f} s" for k, v in self.timings.items()))
        return "\n".join(lines)


def resolve_position(name: str, catalog_path: str = "", ra: float | None = None,
                     dec: float | None = None) -> tuple[str, float, float]:
    """(canonical name, RA, Dec) of a source: given coordinates, else the reference catalog."""
    if not str(name).strip():
        raise ValueError("name: a source name is required")
    if (ra is None) != (dec is None):
        raise ValueError("ra: give both --ra and --dec, or neither")
    if ra is not None:
        if not (0 <= ra < 360 and -90 <= dec <= 90):
            raise ValueError(f"ra: position ({ra}, {dec}) outside RA [0, 360), Dec [-90, 90] deg")
        return name.strip(), float(ra), float(dec)
    from skygallery.science.catalog import load_reference_catalog
    src = load_reference_catalog(catalog_path or None).lookup(name)
    if src is None:
        raise ValueError(f"name: {name!r} is not in the reference catalog; give its position with --ra/--dec")
    return src.name, src.ra_deg, src.dec_deg


def process_source(name: str, archive_root: str | os.PathLike, workdir: str | os.PathLike, publisher: Publisher,
                   config: PipelineConfig | None = None, executor: Executor | None = None,
                   progress: Progress | None = None, t1=None, t2=None, ra: float | None = None,
                   dec: float | None = None, notebook: str = WORKFLOW_SOURCE,
                   extra_parameters: dict | None = None, scw_list=()) -> SourceReport:
    """Long-term products of one source (module docstring); returns what was done. ``scw_list``
    restricts the selection to those ScW ids (as recorded in the products' provenance)."""
    from skygallery.archive.layout import open_archive
    from skygallery.science.timesys import parse_time
    config = config or PipelineConfig()
    name, ra, dec = resolve_position(name, config.catalog, ra, dec)
    for field_name, value in (("t1", t1), ("t2", t2)):
        if value not in (None, ""):
            try:
                parse_time(value)
            except ValueError as exc:
                raise ValueError(f"{field_name}: {exc}") from None
    archive = open_archive(archive_root)
    progress = progress or NullProgress()
    own = executor is None
    executor = executor or LocalExecutor()
    report = SourceReport(name, ra, dec)
    try:
        _Source(name, ra, dec, archive, Path(workdir), config, publisher, executor, progress, report, t1, t2,
                notebook, extra_parameters or {}, list(scw_list)).run()
    finally:
        if own:
            executor.close()
    return report


class _Source:
    def __init__(self, name, ra, dec, archive, workdir, config, publisher, executor, progress, report, t1, t2,
                 notebook, extra, scw_list):
        self.name, self.ra, self.dec, self.archive, self.workdir = name, ra, dec, archive, workdir
        self.config, self.publisher, self.executor, self.progress = config, publisher, executor, progress
        self.report, self.t1, self.t2, self.scw_list = report, t1, t2, scw_list
        self.cache = ScwCache(workdir / "cache" / "scw")
        self.products_root = workdir / "products"
        params = {"src_name": name, "RA": round(ra, 6), "DEC": round(dec, 6), "T1": "" if t1 is None else str(t1),
                  "T2": "" if t2 is None else str(t2), **config.parameters(), **extra}
        params.pop("lc_time_bin_s")   # long-term light curves are per ScW and per revolution
        self.provenance = Provenance.for_workflow(notebook, params, f"src-{slug(name)}-{digest(params, 10)}")

    def _map(self, label, fn, items):
        started = time.perf_counter()
        with self.progress.stage(label, len(items)) as advance:
            out = self.executor.map(fn, items, lambda i, r: advance())
        key = label.split(" ")[0]
        self.report.timings[key] = self.report.timings.get(key, 0.0) + time.perf_counter() - started
        return out

    def run(self):
        started = time.perf_counter()
        records = {inst: self.archive.select(self.t1, self.t2, self.ra, self.dec, RADIUS_DEG[inst],
                                             scw_ids=self.scw_list or None)
                   for inst in self.config.instruments}
        if not any(records.values()):
            raise ValueError(f"t1: no pointing ScW within {max(RADIUS_DEG.values()):g} deg of {self.name} "
                             f"in the archive {self.archive.root} for the requested time range")
        tasks = [t for inst, recs in records.items() for t in scw_tasks_for(recs, self.config, self.cache, (inst,))]
        results = self._map(f"ScWs ({len(tasks)} ScW × instrument)", process_scw, tasks)
        ok = {inst: [r for r in results if r.ok and r.instrument == inst] for inst in self.config.instruments}
        revs = [int(r.scw_id[:4]) for rs in ok.values() for r in rs]
        if not revs:
            raise ValueError(f"t1: none of the selected ScWs near {self.name} has data of {self.config.instruments}")
        self.rev1, self.rev2 = min(revs), max(revs)
        used = {r.scw_id for rs in ok.values() for r in rs}
        self.dv = "NRT" if any(s.endswith(".000") for s in used) else "CONS"   # CONS where available
        self.report.revolutions = (self.rev1, self.rev2)
        self.report.scws = {inst: len(rs) for inst, rs in ok.items()}
        images = self._mosaics(ok)
        rates = self._rates(ok, images)
        sources = self._sources(rates, images)
        self._publish(images, sources, ok)
        self.report.timings["total"] = time.perf_counter() - started

    def _pid(self, inst: str, kind: str) -> str:
        return f"src-{slug(self.name)}-{inst}-{kind}-{self.rev1:04d}-{self.rev2:04d}"

    def _title(self, inst: str, what: str) -> str:
        revs = f"Rev. {self.rev1}" if self.rev1 == self.rev2 else f"Revs. {self.rev1}-{self.rev2}"
        return f"{self.name} {INSTRUMENT_LABEL[inst]} {what} {revs}"

    def _mosaics(self, ok):
        tasks, cat = [], catalog_id(self.config.catalog)
        for inst, rs in ok.items():
            if not rs:
                continue
            paths = tuple(r.image_path for r in rs)
            inputs = digest({"images": [Path(p).name for p in paths], "threshold": self.config.detection_threshold,
                             "catalog": cat, "software": self.cache.software})
            tasks.append(ImageTask(self._pid(inst, "image"), inst, ARCHIVE_PREFIX[inst], self.config.band(inst), paths,
                                   self.config.detection_threshold, self.config.catalog, str(self.products_root),
                                   self._title(inst, "mosaic"), inputs))
        return {r.instrument: r for r in self._map(f"mosaics ({len(tasks)} instruments)", make_image_product, tasks)}

    def _fit_list(self, image) -> tuple:
        found = [(d["name"], round(d["ra"], 6), round(d["dec"], 6)) for d in image.detections if d["name"] != self.name]
        return ((self.name, round(self.ra, 6), round(self.dec, 6)), *found)

    def _rates(self, ok, images):
        tasks, out = [], {}
        for inst, rs in ok.items():
            if inst not in images:
                continue
            sources = self._fit_list(images[inst])
            for r in rs:
                path = self.cache.path(r.scw_id, inst, "rates", {"cube": Path(r.cube_path).name, "sources": sources},
                                       "npz")
                tasks.append(RatesTask(r.scw_id, inst, ARCHIVE_PREFIX[inst], r.cube_path, sources, str(path)))
                out.setdefault(inst, []).append((r.scw_id, str(path)))
        self._map(f"rates ({len(tasks)} ScW × instrument)", fit_scw_rates, tasks)
        return out

    def _sources(self, rates, images):
        tasks = []
        rdir = self.workdir / "cache" / "responses"
        for inst, paths in rates.items():
            edges = self.config.isgri_spectral_edges_keV if inst == "isgri" else self.config.jemx_spectral_edges_keV
            rmf, arf = response_files(rdir, inst, edges)
            src = {"name": self.name, "ra": self.ra, "dec": self.dec, "new_source": False}
            inputs = digest({"rates": [Path(p).name for _, p in paths], "source": src, "software": self.cache.software,
                             "edges": list(edges), "kind": "long-term"})
            tasks.append(SourceTask(self._pid(inst, "lc-scw"), self._pid(inst, "spectrum"), src, inst,
                                    ARCHIVE_PREFIX[inst], self.config.band(inst), tuple(paths), None,
                                    str(self.products_root), self._title(inst, "light curve (per ScW)"),
                                    self._title(inst, "cumulative spectrum"), str(rmf), str(arf), inputs,
                                    rev_lc_product_id=self._pid(inst, "lc-rev"),
                                    rev_lc_title=self._title(inst, "light curve (per revolution)")))
        return list(zip(tasks, self._map(f"sources ({len(tasks)} instruments)", make_source_products, tasks)))

    def _publish(self, images, sources, ok):
        from skygallery.science import timesys

        def iso(t):
            return timesys.isot(timesys.from_ijd(t), 3)
        started = time.perf_counter()
        ref = [{"name": self.name, "ra": round(self.ra, 6), "dec": round(self.dec, 6)}]
        with self.progress.stage(f"publish to {self.publisher.where}", len(images) + 3 * len(sources)) as advance:
            for inst, res in images.items():
                e1, e2 = self.config.band(inst)
                detected = [{k: d[k] for k in ("name", "ra", "dec", "flux", "flux_err", "significance", "new_source")}
                            for d in res.detections]
                refs = ref + [{"name": d["name"], "ra": round(d["ra"], 6), "dec": round(d["dec"], 6),
                               **({"object_type": "X"} if d["new_source"] else {})}
                              for d in res.detections if d["name"] != self.name]
                payload = self._payload(res.product_id, self._title(inst, "mosaic"), inst, "image", e1, e2,
                                        iso(res.header["TSTART"]), iso(res.header["TSTOP"]), refs,
                                        [r.scw_id for r in ok[inst]], detected_sources=detected)
                self._post(payload, res.files, "image")
                advance()
            for task, result in sources:
                inst = task.instrument
                self.report.stats[inst] = {k: result[k]["stats"] for k in ("lc", "rev_lc", "spectrum") if k in result}
                for kind in ("lc", "rev_lc", "spectrum"):
                    part = result.get(kind)
                    if part and part["files"]:
                        self._post(self._source_payload(task, kind, part, ref, iso), part["files"],
                                   "spectrum" if kind == "spectrum" else "lightcurve")
                    advance()
        self.report.timings["publish"] = time.perf_counter() - started

    def _source_payload(self, task, kind, part, ref, iso) -> dict:
        stats, inst = part["stats"], task.instrument
        scws = [s for s, _ in task.rates]
        if kind == "spectrum":
            e1, e2, extra = stats["e1_kev"], stats["e2_kev"], {}
            title = task.spectrum_title
        else:
            (e1, e2), title = task.band, task.lc_title if kind == "lc" else task.rev_lc_title
            extra = {"time_bin_s": stats.get("time_bin_s"), "highlight": bool(stats.get("highlight"))}
        ptype = "spectrum" if kind == "spectrum" else "lc"
        return self._payload(part["product_id"], title, inst, ptype, e1, e2, iso(stats["t1_ijd"]), iso(stats["t2_ijd"]),
                             ref, scws, **extra)

    def _payload(self, pid, title, inst, ptype, e1, e2, t1, t2, refs, scws, **extra) -> dict:
        return {"product_id": pid, "title": title, "instrument": inst, "product_type": f"{PRODUCT_FAMILY[inst]}_{ptype}",
                "e1_kev": e1, "e2_kev": e2, "t1": t1, "t2": t2, "ra": round(self.ra, 6), "dec": round(self.dec, 6),
                "sources": refs, "create_sources": True, "data_version": self.dv,
                "provenance": self.provenance.with_parameters(scw_list=scws).as_payload(), **extra}

    def _post(self, payload, files, kind):
        action = publish_product(self.publisher, payload, files)
        self.report.actions[action] += 1
        self.report.products.setdefault(kind, []).append(payload["product_id"])
        if payload.get("highlight"):
            self.report.highlights.append(payload["title"])
