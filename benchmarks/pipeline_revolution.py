"""Per-revolution pipeline benchmark (``python benchmarks/pipeline_revolution.py``); prints markdown tables.

One simulated revolution of 80 pointing ScWs (Galactic-centre 5×5 dither, Crab hexagon, Cygnus 5×5)
with ISGRI, JEM-X1 and JEM-X2, processed end to end into a local SQLite gallery
(:func:`skygallery.pipeline.revolution.process_revolution`):

1. the split per stage for 80 ScWs × 3 instruments with the local process pool (target: < 2 min on
   2 cores);
2. the scaling with 20, 40 and 80 ScWs (the first N ScWs of the revolution, cold caches);
3. the local pool against a Dask ``LocalCluster`` (same number of worker processes, one thread each);
4. a re-run with warm caches (nothing recomputed, nothing posted).

The archive is simulated once into ``benchmarks/out/pipeline/archive`` and reused by later runs.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
OUT = ROOT / "benchmarks" / "out" / "pipeline"
REV = 2700
STAGES = ("select", "scws", "mosaics", "rates", "sources", "publish", "total")


def plan():
    from skygallery.pipeline.simulation import ObservationPlan, RevolutionPlan
    return [RevolutionPlan(REV, (ObservationPlan("gc", "5x5", 50, f"{REV}0001", "Public", "GC deep"),
                                 ObservationPlan("crab", "hex", 14, f"{REV}0002", "Public", "Crab calibration"),
                                 ObservationPlan("cygnus", "5x5", 16, f"{REV}0003", "Public", "Cygnus")))]


def gallery(home: Path):
    os.environ["SKYGALLERY_HOME"] = str(home)
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skygallery.site.settings")
    import django
    django.setup()
    from skygallery.gallery.services.accounts import create_user
    from skygallery.gallery.services.maintenance import migrate_and_seed
    from skygallery.pipeline.publish import LocalPublisher
    migrate_and_seed()
    return LocalPublisher(create_user("bench", None, role="contributor"))


def run(archive, workdir, publisher, executor, scw_list=()):
    from skygallery.pipeline.config import PipelineConfig
    from skygallery.pipeline.revolution import process_revolution
    started = time.perf_counter()
    report = process_revolution(REV, "CONS", archive, workdir, publisher, PipelineConfig(), executor,
                                scw_list=scw_list)
    report.timings["total"] = time.perf_counter() - started
    return report


def row(label, report, n_scw):
    t = report.timings
    cells = " | ".join(f"{t.get(s, 0.0):.1f}" for s in STAGES)
    rate = 3 * n_scw / t["total"]
    return f"| {label} | {cells} | {rate:.2f} | {report.n_products} |"


def header(first: str) -> list[str]:
    return [f"| {first} | " + " | ".join(f"{s} (s)" for s in STAGES) + " | ScW×instr./s | products |",
            "|---" * (len(STAGES) + 3) + "|"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--sizes", default="20,40,80", help="ScW counts for the scaling table")
    parser.add_argument("--no-dask", action="store_true", help="skip the Dask LocalCluster comparison")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    from skygallery.pipeline.executors import DaskExecutor, LocalExecutor
    from skygallery.pipeline.simulation import simulate_revolutions
    from skygallery.science.catalog import load_reference_catalog
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="sg-bench-pipeline-"))
    publisher = gallery(tmp / "home")
    print(f"# Pipeline benchmark: revolution {REV}, {os.cpu_count()} CPU cores, {args.workers} workers, "
          f"load average {os.getloadavg()[0]:.1f}\n")
    with LocalExecutor(args.workers) as local:
        started = time.perf_counter()
        sim = simulate_revolutions(OUT / "archive", plan(), load_reference_catalog(), seed=3, executor=local)
        print(f"archive: {sim['n_scw']} ScWs, simulated {sim['simulated'] or 'no'} / reused {sim['reused'] or 'no'} "
              f"in {time.perf_counter() - started:.1f} s\n")
        from skygallery.archive.layout import open_archive
        scws = [str(r.scw_id) for r in open_archive(OUT / "archive").select(version="CONS")]
        results = {}
        for n in sizes:
            work = tmp / f"local-{n}"
            results[n] = run(OUT / "archive", work, publisher, local, scws[:n] if n < len(scws) else ())
        warm = run(OUT / "archive", tmp / f"local-{max(sizes)}", publisher, local,
                   scws[:max(sizes)] if max(sizes) < len(scws) else ())
    lines = ["## Local process pool: split per stage and scaling (cold caches)", "", *header("ScWs")]
    lines += [row(str(n), results[n], n) for n in sizes]
    lines += ["", f"## Warm re-run ({max(sizes)} ScWs: everything cached, nothing posted)", "", *header("run")]
    lines += [row("warm", warm, max(sizes)), "", f"gallery actions of the warm run: {dict(warm.actions)}"]
    if not args.no_dask:
        from distributed import LocalCluster
        n = max(sizes)
        with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                          dashboard_address=None) as cluster, DaskExecutor(cluster.scheduler_address) as dask:
            dask_report = run(OUT / "archive", tmp / f"dask-{n}", publisher, dask, scws[:n] if n < len(scws) else ())
        lines += ["", f"## Local pool against a Dask LocalCluster ({n} ScWs, {args.workers} worker processes)", "",
                  *header("executor"), row("local pool", results[n], n), row("Dask LocalCluster", dask_report, n)]
    print("\n".join(lines))
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
