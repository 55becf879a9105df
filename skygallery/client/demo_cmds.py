"""Demo commands: ``demo`` (set up, fill with the sample, serve) and ``load-sample``."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import actor, django_ready, show, table

SHARED_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
RealData = Annotated[Optional[Path], typer.Option(
    "--real-data", help="Folder of real INTEGRAL files to add products from (default: ../shared/data when present).")]


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
    """The sample is posted as the first admin; a fresh demo database gets an ``admin`` without a password."""
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


def demo(host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
         port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
         serve_after: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve the gallery afterwards.")] = True,
         real_data: RealData = None) -> None:
    """Set up the database, fill the gallery with the sample and serve it (what `make demo` runs).

    Examples:
      skygallery demo
      skygallery demo --port 8080 --no-serve
    """
    django_ready()
    load_sample_cmd(real_data)
    if serve_after:
        from .gallery_cmds import serve
        serve(host=host, port=port, workers=None)


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Gallery")(demo)
    app.command("load-sample", rich_help_panel="Gallery")(load_sample_cmd)
