"""Pieces shared by the command modules: option types, Django set-up, users, tables."""
from __future__ import annotations

import os
from typing import Annotated, Optional

import typer

from skygallery.gallery.errors import NotFound

Url = Annotated[Optional[str], typer.Option("--url", envvar="SKYGALLERY_URL", show_envvar=True,
                                            help="Remote server (else the local gallery).")]
Token = Annotated[Optional[str], typer.Option("--token", envvar="SKYGALLERY_TOKEN", show_envvar=True,
                                              help="API token for --url (contributor for writes).")]
AsUser = Annotated[Optional[str], typer.Option("--as-user", help="Local mode: act as this user "
                                               "(default: the first admin).")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def django_ready() -> None:
    from .cli import setup_django
    setup_django()


def http_client(url: str, token: str | None):
    from .http import GalleryHTTPClient
    return GalleryHTTPClient(url, token)


def table(*columns: str):
    from rich.table import Table
    table = Table(header_style="bold")
    for i, name in enumerate(columns):
        table.add_column(name, no_wrap=i == 0, overflow="fold")  # the key column is never cut
    return table


def show(renderable) -> None:
    from rich.console import Console
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=200)  # piped output: keep rows on one line
    console.print(renderable)


def find_user(username: str):
    from django.contrib.auth import get_user_model
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise NotFound(f"user: no user named {username!r}")
    return user


def actor(as_user: str | None):
    """The user local writes are made as: ``--as-user`` (a contributor) or the first admin."""
    from skygallery.gallery.services.accounts import acting_user
    return acting_user(as_user)
