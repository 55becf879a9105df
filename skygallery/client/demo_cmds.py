"""Demo commands: ``demo`` (simulate → pipeline → serve, what ``make demo`` runs) and ``load-sample``.

``skygallery demo`` fills the gallery the way a real deployment does: it simulates a small archive
(three consecutive revolutions on the Galactic-centre, Crab and Cygnus fields,
:func:`skygallery.pipeline.simulation.demo_plan`), processes the last revolution as NRT then as
CONS and the others as CONS with :mod:`skygallery.pipeline`, makes long-term products for the Crab
and Cyg X-1, prints a summary and serves the gallery. Everything lands in
``$SKYGALLERY_HOME/demo`` (archive, per-ScW cache, product files): a second run reuses it all and
serves within a minute. ``--sample`` loads the hand-made sample instead (the former demo).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer

from .common import actor, django_ready, show, table

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
RealData = Annotated[Path | None, typer.Option(
    "--real-data", help="With --sample: folder of real INTEGRAL files to add products from "
                        "(default: ../shared/data when present).")]
DEMO_SOURCES = ("Crab", "Cyg X-1")


def _load(real_data: Path | None) -> None:
    """Load the sample with a line per item, then print a summary table."""
    from rich.console import Console

    from .sample import load_sample
    folder = real_data or (SHARED_DATA if SHARED_DATA.is_dir() else None)
    started = time.perf_counter()
    summary = load_sample(actor=actor(None), real_data_dir=folder, console=Console(highlight=False))
    rows = table("what", "count")
    for key in ("observations", "products", "planned_versions", "sources", "processing_logs"):
        rows.add_row(key.replace("_", " "), str(summary[key]))
    for ptype, n in summary["products_by_type"].items():
        rows.add_row(f"  {ptype}", str(n))
    for action, n in summary["actions"].items():
        rows.add_row(f"items {action}", str(n))
    rows.add_row("real files used", "yes" if summary["real_data"] else "no")
    rows.add_row("time taken", f"{time.perf_counter() - started:.1f} s")
    rows.title = "Sample gallery"
    show(rows)


def _ensure_admin() -> None:
    """The demo posts as the first admin; a fresh demo database gets an ``admin`` without a password."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    from skygallery.gallery.services.accounts import create_user
    User = get_user_model()
    if not User.objects.filter(Q(is_superuser=True) | Q(groups__name="admin")).exists():
        create_user("admin", None, role="admin")
        typer.echo("created user 'admin' (no password: set one with `skygallery user` or the admin site)")


def load_sample_cmd(real_data: RealData = None) -> None:
    """Fill the gallery with the sample products (idempotent: a second run changes nothing).

    Six observations of revolutions 2563-2565 with ISGRI and JEM-X mosaics, detected sources, light
    curves and spectra, and products made from the real INTEGRAL files when they are available.

    Examples:
      skygallery load-sample
      skygallery load-sample --real-data ../shared/data
    """
    from .gallery_cmds import _prepare
    _prepare()
    _ensure_admin()
    _load(real_data)


def _demo_summary(results: list, timings: dict, started: float) -> None:
    """Revolutions, observations, products, detected sources and times of the demo run."""
    from django.db.models import Count, F

    from skygallery.gallery.models import (
        DetectedSource,
        Observation,
        Product,
        Revolution,
    )
    rows = table("what", "value")
    for rev in Revolution.objects.filter(number__in={r.rev for r in results if hasattr(r, "rev")}):
        obs = Observation.objects.filter(rev1__lte=rev.number, rev2__gte=rev.number).count()
        rows.add_row(f"revolution {rev.number}", f"{rev.data_status or '-'}, {obs} observations")
    live = Product.objects.filter(deleted_at__isnull=True)
    per_rev = live.filter(span=0, product_id__startswith="rev")
    for family, n in per_rev.values_list("product_type__family").annotate(n=Count("id")).order_by():
        rows.add_row(f"per-revolution {family} products", str(n))
    rows.add_row("long-term products", str(live.filter(product_id__startswith="src-").count()))
    rows.add_row("products with 2+ versions (NRT then CONS)", str(live.filter(version__gt=1).count()))
    rows.add_row("highlights", str(live.filter(highlight=True).count()))
    current = DetectedSource.objects.filter(version__product__deleted_at__isnull=True,
                                            version__number=F("version__product__version"))
    rows.add_row("detected sources (current image products)",
                 f"{current.count()} ({current.filter(is_new=True).count()} new)")
    actions: dict[str, int] = {}
    for r in results:
        for k, n in r.actions.items():
            actions[k] = actions.get(k, 0) + n
    rows.add_row("gallery actions", ", ".join(f"{n} {k}" for k, n in sorted(actions.items())))
    for name, seconds in timings.items():
        rows.add_row(f"time: {name}", f"{seconds:.1f} s")
    rows.add_row("time taken", f"{time.perf_counter() - started:.1f} s")
    rows.title = "Demo gallery"
    show(rows)


def run_pipeline_demo(workdir: Path, workers: int | None, scale: float, instruments: str, first_rev: int) -> None:
    """Simulate (or reuse) the demo archive and run the pipeline on it into the local gallery."""
    from django.conf import settings

    from skygallery.pipeline.config import ARCHIVE_PREFIX, PipelineConfig
    from skygallery.pipeline.executors import LocalExecutor
    from skygallery.pipeline.progress import RichProgress
    from skygallery.pipeline.publish import LocalPublisher
    from skygallery.pipeline.revolution import process_revolution
    from skygallery.pipeline.simulation import demo_plan, simulate_revolutions

    from .pipeline_cmds import _as_invalid_input
    from skygallery.pipeline.source import process_source
    from skygallery.science.catalog import load_reference_catalog
    started = time.perf_counter()
    catalog_path = settings.SKYGALLERY.get("CATALOG") or ""
    with _as_invalid_input("instruments"):
        config = PipelineConfig(instruments=instruments, catalog=catalog_path)
        plans = demo_plan(first_rev, scale)
    progress = RichProgress()
    publisher = LocalPublisher(actor(None))
    keys = tuple(ARCHIVE_PREFIX[i] for i in config.instruments)
    timings, results = {}, []
    with LocalExecutor(workers) as executor:
        progress.note(f"[bold]Demo[/]: {len(plans)} revolutions, executor {executor.describe()}, work folder {workdir}")
        t = time.perf_counter()
        sim = simulate_revolutions(workdir / "archive", plans, load_reference_catalog(catalog_path or None),
                                   instruments=keys, executor=executor, progress=progress)
        timings["simulate archive"] = time.perf_counter() - t
        progress.note(f"archive: {sim['n_scw']} ScWs (simulated revolutions {sim['simulated'] or 'none'}, "
                      f"reused {sim['reused'] or 'none'}), {len(sim['sky'])} sky sources")
        runs = [(p.rev, "CONS") for p in plans if p.nrt_missing is None]
        runs += [(p.rev, dv) for p in plans if p.nrt_missing is not None for dv in ("NRT", "CONS")]
        for rev, dv in sorted(runs, key=lambda x: (x[0], x[1] != "NRT")):
            if dv == "NRT" and publisher.revolution_status(rev) == "CONS":
                progress.note(f"Revolution {rev} (NRT): already replaced by CONS, skipped")
                continue
            progress.note(f"[bold]Revolution {rev} ({dv})[/]")
            t = time.perf_counter()
            results.append(process_revolution(rev, dv, workdir / "archive", workdir, publisher, config, executor,
                                              progress))
            timings[f"revolution {rev} {dv}"] = time.perf_counter() - t
        for name in DEMO_SOURCES:
            progress.note(f"[bold]Long-term products of {name}[/]")
            t = time.perf_counter()
            results.append(process_source(name, workdir / "archive", workdir, publisher, config, executor, progress))
            timings[f"long-term {name}"] = time.perf_counter() - t
    _demo_summary(results, timings, started)


def demo(host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
         port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
         serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the gallery afterwards.")] = True,
         sample: Annotated[bool, typer.Option("--sample", help="Load the hand-made sample instead of running the "
                                                           "pipeline on a simulated archive.")] = False,
         real_data: RealData = None,
         workers: Annotated[int | None, typer.Option("--workers", min=1, help="Worker processes "
                                                        "(default: CPU cores).")] = None,
         scale: Annotated[float, typer.Option("--scale", min=0.05, max=4.0, help="Multiply the numbers of "
                                              "pointings of the simulated observations.")] = 1.0,
         instruments: Annotated[str, typer.Option("--instruments", help="Comma list of isgri, jemx1, jemx2.")] =
         "isgri,jemx1,jemx2",
         first_rev: Annotated[int, typer.Option("--first-rev", min=1, max=9997, help="First simulated "
                                                "revolution.")] = 2620,
         workdir: Annotated[Path | None, typer.Option("--workdir", help="Archive, cache and product files "
                                                      "(default: $SKYGALLERY_HOME/demo).")] = None) -> None:
    """Set up the database, fill the gallery with the pipeline on a simulated archive and serve it (`make demo`).

    Simulates three consecutive revolutions (Galactic centre, Crab and Cygnus fields) in
    $SKYGALLERY_HOME/demo, processes the last one as NRT then CONS and the others as CONS, makes
    long-term products for the Crab and Cyg X-1, prints a summary and serves the gallery. A second
    run reuses the archive, the caches and the products. --sample loads the hand-made sample instead.

    Examples:
      skygallery demo
      skygallery demo --port 8080 --no-serve
      skygallery demo --sample --no-serve
    """
    django_ready()
    if sample:
        load_sample_cmd(real_data)
    else:
        from django.conf import settings

        from .gallery_cmds import _prepare
        _prepare()
        _ensure_admin()
        run_pipeline_demo(workdir or Path(settings.HOME) / "demo", workers, scale, instruments, first_rev)
    if serve_after:
        from .gallery_cmds import serve
        serve(host=host, port=port, workers=None)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Gallery")(demo)
    app.command("load-sample", rich_help_panel="Gallery")(load_sample_cmd)
