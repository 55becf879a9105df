"""Gallery administration commands: init, serve, user, token, collect-garbage.

They work in-process through ``skygallery.gallery.services`` on the database the environment selects.
Only light modules are imported here; Django is set up inside the commands.
"""
from __future__ import annotations

import os

from typing import Annotated, Optional

import typer

from skygallery.gallery.errors import InvalidInput


from .common import django_ready, find_user, show, table


# ---------------------------------------------------------------------------------------------- init, serve
def _prepare() -> None:
    django_ready()
    from skygallery.gallery.services.maintenance import migrate_and_seed
    done = migrate_and_seed()
    applied = ", ".join(done["migrations"]) if len(done["migrations"]) <= 5 else "a new database"
    typer.echo(f"database: {done['database']}")
    typer.echo(f"migrations applied: {len(done['migrations'])}" + (f" ({applied})" if applied else " (up to date)"))
    typer.echo(f"vocabularies: {done['instruments']} instruments, {done['product_types']} product types, "
               f"roles {', '.join(done['roles'])}")
    typer.echo(f"file store: {done['file_store']}")


def init() -> None:
    """Create or upgrade the database, seed the vocabularies and refresh the planner statistics (idempotent).

    Safe to run again after an upgrade: pending migrations are applied and the instruments,
    product types and roles are re-created or corrected; nothing else is touched. Run it again
    after a large import: it re-reads the statistics the query planners choose indexes by.

    Examples:
      skygallery init
      SKYGALLERY_HOME=/srv/gallery skygallery init
    """
    _prepare()
    from django.contrib.auth import get_user_model
    if not get_user_model().objects.filter(is_superuser=True).exists():
        typer.echo("no admin yet: skygallery user create NAME --role admin")


def _limited_server(workers: int):
    import threading
    from django.core.servers.basehttp import WSGIServer

    class LimitedWSGIServer(WSGIServer):
        """Handles at most ``workers`` requests at once; the others wait in the listen queue."""
        slots = threading.BoundedSemaphore(workers)

        def verify_request(self, request, client_address):
            self.slots.acquire()
            return True

        def shutdown_request(self, request):
            try:
                super().shutdown_request(request)
            finally:
                self.slots.release()
    return LimitedWSGIServer


def _interrupt(*_):
    raise KeyboardInterrupt


def _serve_forked(httpd, processes: int) -> None:
    """Serve from ``processes`` processes sharing the bound socket (children are forked after binding)."""
    import signal

    from django.db import connections
    connections.close_all()  # each process opens its own database connections
    children = []
    for _ in range(processes - 1):
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
            try:
                httpd.serve_forever()
            finally:
                os._exit(0)
        children.append(pid)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        httpd.serve_forever()
    finally:
        for pid in children:
            os.kill(pid, signal.SIGTERM)
        for pid in children:
            os.waitpid(pid, 0)


def serve(host: Annotated[str, typer.Option(help="Interface to listen on (0.0.0.0: all; set ALLOWED_HOSTS).")]
          = "127.0.0.1",
          port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port (0: any free port).")] = 8000,
          workers: Annotated[Optional[int], typer.Option(min=1, help="At most N requests at once per process "
                                                         "(default: a thread per request).")] = None,
          processes: Annotated[int, typer.Option(min=1, max=64, help="Server processes sharing the port "
                                                 "(use the number of cores).")] = 1) -> None:
    """Run the gallery web server (migrates and seeds first; static files included).

    A threaded server, optionally in several processes, for a workstation or a group. Static assets are
    served by Django's staticfiles handler straight from the installed package (no collectstatic, no
    DEBUG). For a public deployment put it (or gunicorn skygallery.site.wsgi) behind a proxy.

    Examples:
      skygallery serve
      skygallery serve --host 0.0.0.0 --port 8080 --processes 2 --workers 8
    """
    import socketserver

    _prepare()
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer

    from skygallery.site.wsgi import application   # loaded whole, then frozen out of the GC's reach
    base = _limited_server(workers) if workers else WSGIServer
    server_cls = type("ThreadedWSGIServer", (socketserver.ThreadingMixIn, base), {"daemon_threads": True})
    httpd = server_cls((host, port), WSGIRequestHandler, ipv6=":" in host)
    httpd.set_app(StaticFilesHandler(application))
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"SkyGallery at http://{shown}:{httpd.server_port}/  (Ctrl-C to stop)")
    try:
        _run(httpd, processes)
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        httpd.server_close()


def _run(httpd, processes: int) -> None:
    """Serve until interrupted, from one process or several."""
    _serve_forked(httpd, processes) if processes > 1 else httpd.serve_forever()


# ---------------------------------------------------------------------------------------------- users, tokens
user_app = typer.Typer(help="Manage user accounts and roles (local database).", no_args_is_help=True)
token_app = typer.Typer(help="Manage personal API tokens (local database).", no_args_is_help=True)


@user_app.command("create")
def user_create(username: str,
                email: Annotated[str, typer.Option(help="E-mail address.")] = "",
                role: Annotated[str, typer.Option(help="reader | contributor | admin.")] = "reader",
                password: Annotated[Optional[str], typer.Option(help="Password (else asked for).")] = None,
                no_password: Annotated[bool, typer.Option("--no-password", help="API-only account.")] = False):
    """Create a user with a role; the password is asked for unless given.

    Roles: reader (read only), contributor (may post and delete products), admin (everything).

    Examples:
      skygallery user create alice --role admin
      skygallery user create pipeline --role contributor --no-password
    """
    django_ready()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from skygallery.gallery.services.accounts import create_user
    if password is None and not no_password:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if password is not None:
        try:
            validate_password(password, get_user_model()(username=username, email=email))
        except ValidationError as exc:
            raise InvalidInput(("password", " ".join(exc.messages))) from None
    create_user(username, password, email, role)
    typer.echo(f"created user {username} ({role})")


@user_app.command("role")
def user_role(username: str, role: str):
    """Give a user a role: reader, contributor or admin.

    Example: skygallery user role carla contributor
    """
    django_ready()
    from skygallery.gallery.services.accounts import set_role
    set_role(find_user(username), role)
    typer.echo(f"{username} is now {role}")


@user_app.command("list")
def user_list():
    """List the users with their roles.

    Example: skygallery user list
    """
    django_ready()
    from django.contrib.auth import get_user_model
    from skygallery.gallery.services.accounts import role_of
    rows = table("username", "email", "role", "active", "joined", "active tokens")
    for u in get_user_model().objects.order_by("username"):
        rows.add_row(u.username, u.email, role_of(u), "yes" if u.is_active else "no", f"{u.date_joined:%Y-%m-%d}",
                      str(u.api_tokens.filter(revoked_at__isnull=True).count()))
    show(rows)


@token_app.command("create")
def token_create(user: Annotated[Optional[str], typer.Option("--user", help="Owner (username).")] = None,
                 name: Annotated[str, typer.Option(help="A label for the token.")] = "cli",
                 days: Annotated[Optional[int], typer.Option(help="Expires after D days (default: never; "
                                                               "30 for --email tokens).")] = None,
                 email: Annotated[Optional[str], typer.Option(help="Instead of --user: mint an oda_api (MMODA) "
                                                              "JWT for this e-mail.")] = None,
                 roles: Annotated[str, typer.Option(help="With --email: comma-separated roles, e.g. "
                                                    "\"gallery contributor\".")] = "",
                 quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the token.")] = False):
    """Create an API token; its text is printed once and never stored.

    Send it as "Authorization: Bearer TOKEN", or give it to --token / SKYGALLERY_TOKEN.
    With --email, mint an HS256 JWT signed with this server's secret instead, for the oda_api client
    (ODA_TOKEN) and the /dispatch-data endpoints; its user is created on first use, and the role
    "gallery contributor" makes them a contributor. It also works as a Bearer token on /api/v1.

    Examples:
      skygallery token create --user carla --name laptop --days 90
      export SKYGALLERY_TOKEN=$(skygallery token create --user pipeline -q)
      export ODA_TOKEN=$(skygallery token create --email carla@example.org --roles "gallery contributor" --days 30 -q)
    """
    if user and email:
        raise InvalidInput(("email", "give either --user or --email, not both"))
    if email:
        return _jwt_create(email, roles, 30 if days is None else days, quiet)
    if not user:
        raise InvalidInput(("user", "give --user USERNAME (or --email for an oda_api token)"))
    django_ready()
    from skygallery.gallery.services.accounts import create_token
    token, clear = create_token(find_user(user), name, days)
    if quiet:
        return typer.echo(clear)
    expiry = f"expires {token.expires_at:%Y-%m-%d}" if token.expires_at else "no expiry"
    typer.echo(f"token {token.pk} ({token.name!r}) for {user}, {expiry}. Shown once; keep it secret:")
    typer.echo(clear)


def _jwt_create(email: str, roles: str, days: int, quiet: bool) -> None:
    django_ready()
    from skygallery.gallery.services.jwt_tokens import mint_jwt
    role_list = [r.strip() for r in roles.split(",") if r.strip()]
    token = mint_jwt(email, role_list, days)
    if quiet:
        return typer.echo(token)
    typer.echo(f"oda_api token for {email}, roles [{', '.join(role_list) or 'none'}], expires in {days} days. "
               "Use it as ODA_TOKEN; keep it secret:")
    typer.echo(token)


@token_app.command("revoke")
def token_revoke(token_id: int, user: Annotated[str, typer.Option("--user", help="Owner (username).")]):
    """Revoke one of a user's tokens (see token list for the ids).

    Example: skygallery token revoke --user carla 3
    """
    django_ready()
    from skygallery.gallery.services.accounts import revoke_token
    revoke_token(find_user(user), token_id)
    typer.echo(f"revoked token {token_id} of {user}")


@token_app.command("list")
def token_list(user: Annotated[str, typer.Option("--user", help="Owner (username).")]):
    """List a user's tokens (never their text).

    Example: skygallery token list --user carla
    """
    django_ready()
    from django.utils import timezone as tz
    now, when = tz.now(), (lambda t, empty: f"{t:%Y-%m-%d %H:%M}" if t else empty)
    rows = table("id", "name", "prefix", "created", "expires", "last used", "status")
    for t in find_user(user).api_tokens.all():
        status = "revoked" if t.revoked_at else "expired" if t.expires_at and t.expires_at < now else "active"
        rows.add_row(str(t.pk), t.name, t.prefix + "…", when(t.created_at, ""), when(t.expires_at, "never"),
                      when(t.last_used_at, "-"), status)
    show(rows)


def collect_garbage(purge_deleted: Annotated[bool, typer.Option(help="First hard-delete the soft-deleted "
                                                                "products (then their files can go).")] = False,
                    dry_run: Annotated[bool, typer.Option(help="Report only; remove nothing.")] = False,
                    temp_age_hours: Annotated[float, typer.Option(min=0, help="Remove upload temp files "
                                                                  "older than this.")] = 24.0):
    """Remove stored files no product or observation refers to any more.

    Files of soft-deleted products (skygallery delete) are kept, since re-posting their
    product_id revives them; --purge-deleted hard-deletes those products first so that their
    files can be collected too. Files of older versions of live products are kept.

    Examples:
      skygallery collect-garbage --dry-run
      skygallery collect-garbage --purge-deleted
    """
    django_ready()
    from skygallery.gallery.services.maintenance import collect_garbage as collect
    report = collect(purge_deleted=purge_deleted, dry_run=dry_run, temp_older_than_s=temp_age_hours * 3600)
    verb = "would remove" if dry_run else "removed"
    if purge_deleted:
        typer.echo(f"{'would purge' if dry_run else 'purged'} {len(report.products_purged)} deleted products"
                   + (f": {', '.join(report.products_purged)}" if report.products_purged else ""))
    typer.echo(f"{verb} {len(report.blobs_removed)} of {report.blobs_scanned} stored files "
               f"({report.bytes_freed / 1e6:.1f} MB) and {report.temp_removed} stale temporary files")


def register(app: typer.Typer) -> None:
    app.command(rich_help_panel="Gallery")(init)
    app.command(rich_help_panel="Gallery")(serve)
    app.add_typer(user_app, name="user", rich_help_panel="Gallery")
    app.add_typer(token_app, name="token", rich_help_panel="Gallery")
    app.command("collect-garbage", rich_help_panel="Gallery")(collect_garbage)
