"""Simulated archives for the demo, the tests and the benchmark: realistic fields over consecutive
revolutions, an NRT copy of a revolution, all written once and reused.

Fields (:data:`FIELDS`): the Galactic centre, the Crab and Cygnus, centred on their usual pointing
targets. The sky comes from the reference catalog when one is configured (its ISGRI fluxes, as
:meth:`skygallery.science.simulate.sky.SkyModel.from_catalog`), otherwise from the built-in bright
list with the typical hard X-ray fluxes of :data:`BUILTIN_MCRAB` (mCrab in 20–40 keV; photon indices
of :data:`PHOTON_INDEX`), plus the variable sky of :func:`variable_sources`: a fast flare of the
supergiant fast X-ray transient IGR J17544-2619, an outburst of V404 Cyg, and an uncatalogued
transient in Cygnus that the pipeline must report as a NEW source.

:func:`simulate_revolutions` writes every revolution of a plan (one executor task per revolution,
into a staging folder moved into place when complete: a killed run leaves no half revolution), the
NRT copies — same events as CONS (hard links), ScW version 000, without the last ScWs of the
revolution (not yet delivered when NRT data are processed) — and one index of everything. A
revolution already written with the same plan is not simulated again.
"""
from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from .config import digest

__all__ = [
    "BUILTIN_MCRAB",
    "FIELDS",
    "PHOTON_INDEX",
    "ObservationPlan",
    "RevolutionPlan",
    "demo_plan",
    "field_sky",
    "simulate_revolutions",
    "variable_sources",
]

# key: (target, ra, dec) deg — the usual pointing targets
FIELDS = {"gc": ("Galactic Centre", 266.417, -29.008), "crab": ("Crab", 83.633, 22.014),
          "cygnus": ("Cygnus X-1", 299.590, 35.202)}
SKY_RADIUS_DEG = 20.0

# Typical 20–40 keV fluxes (mCrab) of the built-in bright sources near the demo fields (orders of
# magnitude from the INTEGRAL/ISGRI survey catalogues; transients in quiescence are left out).
BUILTIN_MCRAB = {
    "Crab": 1000.0, "1A 0535+262": 8.0, "X Per": 25.0,
    "Cyg X-1": 800.0, "Cyg X-3": 150.0, "Cyg X-2": 15.0, "SS Cyg": 4.0, "Her X-1": 30.0,
    "1E 1740.7-2942": 30.0, "GX 354-0": 30.0, "GX 1+4": 40.0, "GX 5-1": 20.0, "GX 3+1": 10.0, "GX 9+1": 8.0,
    "GX 349+2": 20.0, "4U 1700-377": 150.0, "OAO 1657-415": 40.0, "GRS 1758-258": 50.0, "GX 17+2": 15.0,
    "GX 13+1": 8.0, "4U 1820-30": 15.0, "SGR 1806-20": 5.0, "V1223 Sgr": 5.0, "H 1743-322": 20.0,
    "4U 1636-53": 15.0, "GX 339-4": 60.0, "4U 1630-47": 30.0,
}
PHOTON_INDEX = {"Crab": 2.1, "Cyg X-1": 1.7, "Cyg X-3": 2.8, "GX 5-1": 3.0, "GX 3+1": 3.0, "GX 9+1": 3.0,
                "GX 17+2": 3.0, "GX 13+1": 3.0, "GX 349+2": 3.0, "4U 1700-377": 2.4, "GRS 1758-258": 1.8,
                "1E 1740.7-2942": 1.8, "Cyg X-2": 3.0, "V404 Cyg": 1.9, "IGR J17544-2619": 2.3}
NEW_TRANSIENT = ("SIM J2030.0+3730", 307.50, 37.50, 60.0)   # name, ra, dec (deg), mCrab — not in any catalog


@dataclass(frozen=True)
class ObservationPlan:
    """One observation of a planned revolution: field key, dither pattern, number of pointings."""

    field: str
    pattern: str
    n_pointings: int
    obsid: str
    pi: str = "SkyGallery simulation"
    proposal: str = ""


@dataclass(frozen=True)
class RevolutionPlan:
    rev: int
    observations: tuple[ObservationPlan, ...]
    nrt_missing: int | None = None        # also write an NRT copy without this many last ScWs


def demo_plan(first_rev: int = 2620, scale: float = 1.0) -> list[RevolutionPlan]:
    """The demo's three consecutive revolutions (``scale`` multiplies the numbers of pointings):
    GC 5×5 (14 pointings) + Crab hexagon (7); Cygnus 5×5 (20); Crab, GC and Cygnus hexagons (7 each)
    — the last one also as NRT."""
    def n(k):
        return max(1, round(k * scale))
    r = first_rev
    return [RevolutionPlan(r, (ObservationPlan("gc", "5x5", n(14), f"{r}0001", "Public", "Galactic Centre monitoring"),
                               ObservationPlan("crab", "hex", n(7), f"{r}0002", "Public", "Crab calibration"))),
            RevolutionPlan(r + 1, (ObservationPlan("cygnus", "5x5", n(20), f"{r + 1}0001", "Public",
                                                   "Cygnus region deep field"),)),
            RevolutionPlan(r + 2, (ObservationPlan("crab", "hex", n(7), f"{r + 2}0001", "Public", "Crab calibration"),
                                   ObservationPlan("gc", "hex", n(7), f"{r + 2}0002", "Public",
                                                   "Galactic Centre monitoring"),
                                   ObservationPlan("cygnus", "hex", n(7), f"{r + 2}0003", "Public",
                                                   "Cygnus region deep field")), nrt_missing=2)]


def variable_sources(plans: Sequence[RevolutionPlan]) -> list:
    """The variable sky of the demo (module docstring), timed on the planned pointings."""
    from skygallery.science.simulate.plan import plan_revolution
    from skygallery.science.simulate.sky import LightCurve, SimSource
    out = []
    for p in plans:
        planned = plan_revolution(p.rev, _observations(p))
        for field_key, src in (("gc", "IGR J17544-2619"), ("cygnus", "V404 Cyg")):
            scws = [s for s in planned if s.observation.obsid.startswith(str(p.rev)) and
                    _field_of(s.observation.target) == field_key]
            if not scws or any(o.name == src for o in out):
                continue
            mid = scws[len(scws) // 2].tstart_ijd
            if src == "IGR J17544-2619":      # SFXT: 3 mCrab, a 2-hour flare 30 times brighter
                lc = LightCurve(((mid, 30.0, 0.01, 0.06),))
                out.append(SimSource.from_mcrab(src, 268.605333, -26.331278, 3.0, PHOTON_INDEX[src], lc))
            else:                             # black-hole transient: 10 mCrab, outburst to ~400 mCrab
                lc = LightCurve(((mid, 40.0, 0.05, 0.3),))
                out.append(SimSource.from_mcrab(src, 306.015917, 33.867194, 10.0, PHOTON_INDEX[src], lc))
    name, ra, dec, mcrab = NEW_TRANSIENT
    out.append(SimSource.from_mcrab(name, ra, dec, mcrab, 2.0))
    return out


def _field_of(target: str) -> str:
    return next((k for k, (t, _, _) in FIELDS.items() if t == target), "")


def field_sky(catalog, fields: Sequence[str], extra: Sequence = ()):
    """Sky model of the fields (module docstring); ``extra`` sources replace same-named ones."""
    from skygallery.science.simulate.sky import SimSource, SkyModel
    builtin = all(getattr(s, "origin", "") == "builtin" for s in catalog)
    sources: dict[str, object] = {}
    for key in fields:
        _, ra, dec = FIELDS[key]
        if builtin:
            for src, _sep in catalog.nearest(ra, dec, SKY_RADIUS_DEG):
                if src.name in BUILTIN_MCRAB:
                    sources[src.name] = SimSource.from_mcrab(src.name, src.ra_deg, src.dec_deg, BUILTIN_MCRAB[src.name],
                                                             PHOTON_INDEX.get(src.name, 2.1))
        else:
            for s in SkyModel.from_catalog(catalog, (ra, dec), SKY_RADIUS_DEG, mcrab_default=None).sources:
                sources[s.name] = s
    for s in extra:
        sources[s.name] = s
    return SkyModel(list(sources.values()))


def _observations(plan: RevolutionPlan):
    from skygallery.science.simulate.plan import Observation
    out = []
    for o in plan.observations:
        target, ra, dec = FIELDS[o.field]
        out.append(Observation(target, ra, dec, o.pattern, o.n_pointings, obsid=o.obsid, pi=o.pi,
                               title=o.proposal or target, pointing_s=1800.0))
    return out


@dataclass(frozen=True)
class _SimTask:
    root: str
    plan: RevolutionPlan
    sky: object
    seed: int
    instruments: tuple[str, ...]
    key: str


def _simulate_one(task: _SimTask) -> list:
    from skygallery.science.simulate.archive import simulate_archive
    root = Path(task.root)
    staging = root / ".staging" / f"{task.plan.rev:04d}"
    if staging.exists():
        shutil.rmtree(staging)
    planned = simulate_archive(staging, task.plan.rev, _observations(task.plan), task.sky, seed=task.seed,
                               instruments=task.instruments)
    final = root / "scw" / f"{task.plan.rev:04d}"
    if final.exists():
        shutil.rmtree(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staging / "scw" / f"{task.plan.rev:04d}", final)
    shutil.rmtree(staging)
    (root / ".staging" / f"{task.plan.rev:04d}.json").write_text(json.dumps({"key": task.key}))
    return planned


def _nrt_copy(root: Path, planned: list, missing: int) -> list:
    """NRT ScWs (version 000): hard links to the CONS events, without the last ``missing`` ScWs."""
    from astropy.io import fits

    from skygallery.science.simulate.writer import scw_dir, write_swg
    out = []
    for p in planned[: max(1, len(planned) - missing)]:
        nrt = replace(p, scw_id=p.scw_id.with_version(0))
        src, dest = scw_dir(root, p), scw_dir(root, nrt)
        dest.mkdir(parents=True, exist_ok=True)
        for f in src.iterdir():
            if f.name != "swg.fits" and not (dest / f.name).exists():
                os.link(f, dest / f.name)
        deadc = float(fits.getheader(src / "swg.fits", 1).get("DEADC", 0.7))
        write_swg(dest, nrt, deadc)
        out.append(nrt)
    return out


def simulate_revolutions(root: str | os.PathLike, plans: Sequence[RevolutionPlan], catalog, seed: int = 1,
                         instruments: Sequence[str] = ("ISGR", "JMX1", "JMX2"), executor=None,
                         progress=None, sky=None) -> dict:
    """Write (or reuse) the archive of ``plans`` under ``root`` (module docstring); returns
    {"simulated": [revs], "reused": [revs], "n_scw": count, "sky": [source names]}. ``sky``: a
    :class:`~skygallery.science.simulate.sky.SkyModel` to use instead of the fields' sky."""
    from skygallery.science.simulate.plan import plan_revolution
    from skygallery.science.simulate.writer import write_index

    from .executors import LocalExecutor
    from .progress import NullProgress
    root = Path(root)
    fields = sorted({o.field for p in plans for o in p.observations})
    sky = sky if sky is not None else field_sky(catalog, fields, variable_sources(plans))
    tasks, reused, planned = [], [], {}
    for p in plans:
        key = digest({"plan": repr(p), "seed": seed, "instruments": list(instruments),
                      "sky": sorted((s.name, s.ra_deg, s.dec_deg, s.k, s.index, repr(s.lightcurve))
                                    for s in sky.sources)})
        marker = root / ".staging" / f"{p.rev:04d}.json"
        done = marker.is_file() and json.loads(marker.read_text()).get("key") == key
        if done and (root / "scw" / f"{p.rev:04d}").is_dir():
            reused.append(p.rev)
            planned[p.rev] = plan_revolution(p.rev, _observations(p))
        else:
            marker.unlink(missing_ok=True)
            tasks.append(_SimTask(str(root), p, sky, seed, tuple(instruments), key))
    executor = executor or LocalExecutor(1)
    progress = progress or NullProgress()
    with progress.stage(f"simulate ({len(tasks)} revolutions)", len(tasks)) as advance:
        results = executor.map(_simulate_one, tasks, lambda i, r: advance())
    for task, result in zip(tasks, results):
        planned[task.plan.rev] = result
    everything = []
    for p in plans:
        everything += planned[p.rev]
        if p.nrt_missing is not None:
            everything += _nrt_copy(root, planned[p.rev], p.nrt_missing)
    write_index(root, everything)
    return {"simulated": [t.plan.rev for t in tasks], "reused": reused, "n_scw": len(everything),
            "sky": sorted(s.name for s in sky.sources)}
