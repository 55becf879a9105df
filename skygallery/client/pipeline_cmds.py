"""Pipeline commands: ``process-revolution``, ``process-source`` and ``run-notebook``.

They run :mod:`skygallery.pipeline` (heavy imports inside the bodies) and post to the local gallery
(in-process, as ``--as-user`` or the first admin) or to a remote SkyGallery (``--gallery URL`` with a
contributor ``--token``) — the same workflow code either way. Library errors (``ValueError`` whose
message starts with the field name) become ``InvalidInput`` (exit code 2).
"""
from __future__ import annotations

import json
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from skygallery.gallery.errors import InvalidInput

PANEL = "Pipeline"
Gallery = Annotated[str | None, typer.Option("--gallery", envvar="SKYGALLERY_URL", show_envvar=True,
                                                help="Remote SkyGallery to post to (default: the local gallery).")]
Token = Annotated[str | None, typer.Option("--token", envvar="SKYGALLERY_TOKEN", show_envvar=True,
                                              help="Contributor API token for --gallery.")]
AsUser = Annotated[str | None, typer.Option("--as-user", help="Local gallery: post as this contributor "
                                               "(default: the first admin).")]
Workers = Annotated[int | None, typer.Option("--workers", min=1, help="Local worker processes (default: CPU cores).")]
Dask = Annotated[str | None, typer.Option("--dask", envvar="SKYGALLERY_DASK", show_envvar=True,
                                             help="Dask scheduler address (tcp://host:8786) instead of local workers.")]
Archive = Annotated[Path | None, typer.Option("--archive", envvar="SKYGALLERY_ARCHIVE", show_envvar=True,
                                                 help="Archive root in the OSA layout (scw/RRRR/…, idx/).")]
Workdir = Annotated[Path | None, typer.Option("--workdir", envvar="SKYGALLERY_WORKDIR", show_envvar=True,
                                                 help="Cache and product files (default: $SKYGALLERY_HOME/pipeline).")]
Instruments = Annotated[str, typer.Option("--instruments", help="Comma list of isgri, jemx1, jemx2.")]
Threshold = Annotated[float, typer.Option("--threshold", help="Detection threshold (sigma).")]
LcBin = Annotated[float, typer.Option("--lc-bin", help="Light-curve bin (s); 0 = one point per ScW.")]


@contextmanager
def _as_invalid_input(default_field: str):
    """ValueErrors of the pipeline ("field: message") become InvalidInput naming that field."""
    try:
        yield
    except ValueError as exc:
        text = str(exc)
        match = re.match(r"^([A-Za-z_][\w.\-]*): (.*)$", text, re.DOTALL)
        raise InvalidInput((match.group(1), match.group(2)) if match else (default_field, text)) from None


def _progress():
    from skygallery.pipeline.progress import RichProgress
    return RichProgress()


def _summary(title: str, rows: list[tuple[str, str]]) -> None:
    from .common import show, table
    t = table("what", "value")
    for key, value in rows:
        t.add_row(key, value)
    t.title = title
    show(t)


def _science(instruments: str, threshold: float, lc_bin: float) -> dict:
    return {"instruments": instruments, "detection_threshold": threshold, "lc_time_bin_s": lc_bin}


def process_revolution(
        rev: Annotated[int, typer.Argument(help="Revolution number.")],
        data_version: Annotated[str, typer.Option("--data-version", help="NRT or CONS.")] = "CONS",
        instruments: Instruments = "isgri,jemx1,jemx2", gallery: Gallery = None, token: Token = None,
        as_user: AsUser = None, workers: Workers = None, dask: Dask = None, archive: Archive = None,
        workdir: Workdir = None, threshold: Threshold = 7.0, lc_bin: LcBin = 1000.0,
        scw: Annotated[list[str] | None, typer.Option("--scw", help="Only these ScW ids (repeat).")] = None,
        force: Annotated[bool, typer.Option("--force", help="Process NRT even if the revolution is CONS.")] = False):
    """Process one revolution into the gallery: images, detected sources, light curves, spectra.

    Selects the revolution's pointing ScWs of the data version, groups them into observations,
    makes per-ScW images (cached), mosaics and detections per observation and instrument, a light
    curve and a spectrum per detected source, and posts them with the observations, the revolution
    summary (YAML), the revolution's data status and a processing log. Re-running posts only what
    changed; CONS after NRT makes new versions of the same products.

    Examples:
      skygallery process-revolution 2620 --data-version NRT --archive /data/archive
      skygallery process-revolution 2620 --data-version CONS --workers 2
      skygallery process-revolution 2620 --instruments isgri --gallery https://gallery.example.org --token sg_…
      skygallery process-revolution 2620 --dask tcp://scheduler:8786
    """
    from skygallery.pipeline.runs import run_revolution
    if not gallery:
        from .common import django_ready
        django_ready()
    started = time.perf_counter()
    with _as_invalid_input("rev"):
        report = run_revolution(rev, data_version.upper(), str(archive or ""), str(workdir or ""), gallery or "",
                                token or "", as_user or "", workers, dask or "", scw or (), progress=_progress(),
                                force=force, **_science(instruments, threshold, lc_bin))
    rows = [("revolution", f"{report.rev} ({report.data_version})"), ("job", report.job_id),
            ("executor", report.executor), ("observations", str(len(report.observations)))]
    rows += [(f"{inst} ScWs", f"{n['ok']} ({n['cached']} cached, {n['skipped']} without data)")
             for inst, n in report.scws.items()]
    rows += [("detected sources", ", ".join(f"{k} {v}" for k, v in report.detections.items()) or "0")]
    rows += [(f"{k} products", str(len(v))) for k, v in report.products.items()]
    rows += [(f"gallery: {k}", str(n)) for k, n in sorted(report.actions.items())]
    rows += [("highlights", str(len(report.highlights))),
             ("time taken", f"{time.perf_counter() - started:.1f} s")]
    _summary(f"Revolution {report.rev}", rows)


def process_source(
        name: Annotated[str, typer.Argument(help="Source name (reference catalog), e.g. Crab.")],
        t1: Annotated[str | None, typer.Option("--t1", help="Start (ISOT, mjd:X, ijd:X); default: archive start.")] = None,
        t2: Annotated[str | None, typer.Option("--t2", help="End; default: archive end.")] = None,
        ra: Annotated[float | None, typer.Option("--ra", help="RA (deg) when the name is not in the catalog.")] = None,
        dec: Annotated[float | None, typer.Option("--dec", help="Dec (deg).")] = None,
        instruments: Instruments = "isgri,jemx1,jemx2", gallery: Gallery = None, token: Token = None,
        as_user: AsUser = None, workers: Workers = None, dask: Dask = None, archive: Archive = None,
        workdir: Workdir = None, threshold: Threshold = 7.0,
        scw: Annotated[list[str] | None, typer.Option("--scw", help="Only these ScW ids (repeat).")] = None):
    """Long-term products of a source: mosaic, light curves per ScW and per revolution, cumulative spectrum.

    Uses every pointing within 15 deg (ISGRI) / 4 deg (JEM-X) of the source in [t1, t2] (CONS
    where available), reusing the per-ScW cache of the revolution runs. Products spanning several
    revolutions appear as long-term on the source page; variable or flaring light curves are
    highlights.

    Examples:
      skygallery process-source Crab
      skygallery process-source "Cyg X-1" --t1 2023-03-22T00:00:00 --t2 2023-03-31T00:00:00 --instruments isgri
      skygallery process-source "SIM J2030+3730" --ra 307.5 --dec 37.5
    """
    from skygallery.pipeline.runs import run_source
    if not gallery:
        from .common import django_ready
        django_ready()
    started = time.perf_counter()
    with _as_invalid_input("name"):
        report = run_source(name, t1 or "", t2 or "", ra, dec, str(archive or ""), str(workdir or ""), gallery or "",
                            token or "", as_user or "", workers, dask or "", scw or (), progress=_progress(),
                            **_science(instruments, threshold, 0.0))
    rows = [("source", f"{report.name} ({report.ra_deg:.4f}, {report.dec_deg:+.4f})"),
            ("revolutions", f"{report.revolutions[0]}-{report.revolutions[1]}"),
            ("ScWs", ", ".join(f"{k} {v}" for k, v in report.scws.items()))]
    rows += [(f"{k} products", str(len(v))) for k, v in report.products.items()]
    rows += [(f"gallery: {k}", str(n)) for k, n in sorted(report.actions.items())]
    rows += [("highlights", ", ".join(report.highlights) or "none"),
             ("time taken", f"{time.perf_counter() - started:.1f} s")]
    _summary(f"Long-term products of {report.name}", rows)


NOTEBOOKS_DIR = Path(__file__).resolve().parents[2] / "notebooks"


def _notebook_path(name: str) -> Path:
    p = Path(name)
    if p.suffix == ".ipynb" and p.is_file():
        return p
    candidate = NOTEBOOKS_DIR / (name if name.endswith(".ipynb") else f"{name}.ipynb")
    if not candidate.is_file():
        known = ", ".join(sorted(x.stem for x in NOTEBOOKS_DIR.glob("*.ipynb")))
        raise InvalidInput(("name", f"no notebook {name!r} (known: {known or 'none'}; or give a path)"))
    return candidate


def _value(text: str):
    """A parameter value: JSON when it parses (numbers, true/false, lists), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _pairs(args: list[str]) -> list[tuple[str, str]]:
    """``-p KEY VALUE`` / ``--parameter KEY VALUE`` triples from the extra arguments."""
    out, i = [], 0
    while i < len(args):
        if args[i] not in ("-p", "--parameter"):
            raise InvalidInput(("parameter", f"unexpected argument {args[i]!r}; parameters are -p KEY VALUE"))
        if i + 2 >= len(args):
            raise InvalidInput(("parameter", f"{args[i]} needs a KEY and a VALUE"))
        out.append((args[i + 1], args[i + 2]))
        i += 3
    return out


def run_notebook(
        ctx: typer.Context,
        name: Annotated[str, typer.Argument(help="revolution_products, source_products, or a notebook path; "
                                                 "then -p KEY VALUE per parameter (values are JSON or text).")],
        output: Annotated[Path | None, typer.Option("--output", help="Executed notebook (default: in the work "
                                                                         "folder, notebooks/).")] = None,
        workdir: Workdir = None,
        timeout: Annotated[int, typer.Option("--start-timeout", help="Kernel start timeout (s).")] = 120):
    """Run a pipeline notebook with papermill, with parameters injected after its parameters cell.

    The products the notebook posts link to it (path and repository commit) and carry its
    parameters, so a product page's "Copy parameters" text pastes back into the parameters cell.
    Tokens are not parameters: set SKYGALLERY_TOKEN in the environment instead.

    Examples:
      skygallery run-notebook revolution_products -p rev_num 2620 -p data_version CONS
      skygallery run-notebook source_products -p src_name Crab -p instruments isgri
    """
    import papermill
    notebook = _notebook_path(name)
    params = {k: _value(v) for k, v in _pairs(list(ctx.args))}
    if "token" in params:
        raise InvalidInput(("token", ("never pass a token as a notebook parameter (it would be stored in the "
                                     "executed notebook); set SKYGALLERY_TOKEN")))
    declared = papermill.inspect_notebook(str(notebook))
    unknown = sorted(set(params) - set(declared))
    if unknown:
        raise InvalidInput((unknown[0], f"not a parameter of {notebook.name} (known: {', '.join(declared)})"))
    from skygallery.pipeline.runs import default_workdir
    if output is None:
        stamp = time.strftime("%Y%m%dT%H%M%S")
        output = default_workdir(workdir) / "notebooks" / f"{notebook.stem}-{stamp}.ipynb"
    output.parent.mkdir(parents=True, exist_ok=True)
    if workdir and "workdir" in declared and "workdir" not in params:
        params["workdir"] = str(workdir)
    started = time.perf_counter()
    try:
        papermill.execute_notebook(str(notebook), str(output), parameters=params, kernel_name="python3",
                                   progress_bar=False, start_timeout=timeout, cwd=str(notebook.parent))
    except papermill.PapermillExecutionError as exc:
        raise InvalidInput(("notebook", (f"{notebook.name} failed in cell {exc.exec_count}: {exc.ename}: "
                                        f"{exc.evalue} (executed notebook: {output})"))) from None
    typer.echo(f"ran {notebook.name} with {json.dumps(params)} in {time.perf_counter() - started:.1f} s; "
               f"executed notebook: {output}")


def register(app: typer.Typer) -> None:
    app.command("process-revolution", rich_help_panel=PANEL)(process_revolution)
    app.command("process-source", rich_help_panel=PANEL)(process_source)
    app.command("run-notebook", rich_help_panel=PANEL,
                context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(run_notebook)
