"""The ``skygallery`` command line: a thin typer ``app`` onto which command modules register.

Adding commands
---------------
A command module is any module listed in ``COMMAND_MODULES`` that defines::

    def register(app: typer.Typer) -> None:
        app.command("mosaic")(mosaic)                   # a top-level command, or
        app.add_typer(image_app, name="image")          # a group of sub-commands

Rules for command modules (so that ``skygallery --help`` stays fast and needs no database):

* import only light modules at the top (typer, rich, the standard library,
  ``skygallery.gallery.errors``); import Django, numpy, astropy … inside the command bodies;
* call :func:`setup_django` (``from skygallery.client.cli import setup_django``, inside the
  body) before touching models or services;
* report failures by raising: ``InvalidInput`` (exit code 2, "naming the field"), any other
  ``GalleryError`` or ``GalleryHTTPError`` (exit 2 for HTTP 400/422, else 1), ``OSError`` (1).
  :class:`GalleryGroup` prints them as one red line on stderr — never a traceback, unless
  ``SKYGALLERY_DEBUG=1`` is set;
* the docstring of each command is its ``--help``: a one-line summary (shown in the top-level
  list), then a paragraph of details, then an ``Examples:`` paragraph (typer dedents the text
  after the summary, so the details paragraph keeps the examples' indentation);
* group commands in the top-level help with ``rich_help_panel="…"`` ("Gallery", "Products", …).

``skygallery.client.http`` has the pieces shared with remote use: ``GalleryHTTPClient``, file
roles from ``ROLE=PATH``/extensions, metadata from YAML/JSON plus flags, and safe export writing.
"""
from __future__ import annotations

import importlib
import os
from typing import Iterable

import typer
from typer.core import TyperGroup

COMMAND_MODULES: list[str] = [
    "skygallery.client.gallery_cmds",
    "skygallery.client.product_cmds",
    "skygallery.client.demo_cmds",
    "skygallery.client.science_cmds",
    "skygallery.client.pipeline_cmds",
    "skygallery.client.spectra_cmds",
    "skygallery.client.timing_cmds",
    # "skygallery.client.archive_cmds",   # simulate-archive, image, mosaic, detect, spectrum … go here
]


def setup_django() -> None:
    """Configure Django once (settings from the environment, see ``skygallery.site.settings``)."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "skygallery.site.settings")
    from django.apps import apps
    if not apps.ready:
        import django
        django.setup()


def describe_error(exc: BaseException) -> tuple[int, str] | None:
    """(exit code, one-line message) for an error a command raised; None when it is unexpected."""
    from skygallery.gallery.errors import GalleryError, InvalidInput
    if isinstance(exc, InvalidInput):
        return 2, f"invalid input: {exc.message}"
    if isinstance(exc, GalleryError):
        kind = _KINDS.get(type(exc).__name__, "error")
        return (2 if exc.status in (400, 422) else 1), f"{kind}: {exc.message}"
    if type(exc).__name__ == "GalleryHTTPError" and type(exc).__module__ == "skygallery.client.http":
        if exc.status is None:
            return 1, str(exc.message)
        what = "invalid input" if exc.is_validation else _HTTP_WORDS.get(exc.status, "server error")
        return (2 if exc.is_validation else 1), f"{what} (HTTP {exc.status}): {exc.message}"
    module = type(exc).__module__ or ""
    if module.startswith("django.db"):
        return 1, f"database error: {exc} (has `skygallery init` been run on this database?)"
    if isinstance(exc, OSError):
        return 1, f"{exc.strerror or exc}{': ' + str(exc.filename) if exc.filename else ''}"
    return None


_KINDS = {"NotFound": "not found", "Forbidden": "forbidden", "Conflict": "conflict", "TooLarge": "too large"}
_HTTP_WORDS = {401: "not authenticated", 403: "forbidden", 404: "not found", 409: "conflict", 413: "too large"}


def print_error(message: str) -> None:
    from rich.console import Console
    from rich.text import Text
    line = " ".join(str(message).split())
    Console(stderr=True, soft_wrap=True, highlight=False).print(Text(f"error: {line}", style="bold red"))


class GalleryGroup(TyperGroup):
    """The root command group: turns the errors of every sub-command into one red line and an exit code."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):  # exits, --help, usage errors: typer's own
            raise
        except Exception as exc:
            if os.environ.get("SKYGALLERY_DEBUG", "").strip() not in ("", "0"):
                raise
            known = describe_error(exc)
            code, message = known or (1, f"unexpected {type(exc).__name__}: {exc} "
                                         "(set SKYGALLERY_DEBUG=1 to see the traceback)")
            print_error(message)
            raise typer.Exit(code) from None


app = typer.Typer(
    cls=GalleryGroup,
    name="skygallery",
    help="SkyGallery: a self-hostable gallery of INTEGRAL high-level products.\n\n"
         "Commands work in-process on the local gallery (settings from the environment: SKYGALLERY_HOME, "
         "DATABASE_URL, …); post, search, export and delete also talk to a remote server with "
         "--url/--token (or SKYGALLERY_URL / SKYGALLERY_TOKEN).\n\n"
         "Getting started:\n"
         "  skygallery init\n"
         "  skygallery user create alice --role admin\n"
         "  skygallery serve --port 8000",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def register_modules(target: typer.Typer, modules: Iterable[str] = COMMAND_MODULES) -> None:
    """Import each command module and let it add its commands to ``target``."""
    for name in modules:
        importlib.import_module(name).register(target)


if __name__ == "__main__":  # ``python -m skygallery.client.cli``: run the real module, not a second copy
    from skygallery.client.cli import app as _app
    _app()
else:
    register_modules(app)
