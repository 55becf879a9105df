"""Maintenance: database set-up (``skygallery init``/``serve``), planner statistics and garbage
collection of the file store.

Planner statistics: searches are written so that the right index drives each plan, but both
planners still compare index costs from their statistics. SQLite has none until ``ANALYZE`` runs
(and a migration that rebuilds a table drops that table's), PostgreSQL's autovacuum refreshes them
only after enough writes. ``init`` and ``serve`` therefore refresh them (``refresh_statistics``:
about 2 s at a million products on SQLite, less on PostgreSQL); a gallery that grew a lot since the
server started is brought up to date by ``skygallery init``.

Garbage-collection policy (``skygallery collect-garbage``):

* A blob is *referenced* while any ``ProductFile`` (of any version, current or older, of any
  product that still exists in the database) or any ``ObservationFile`` names its SHA-256.
  Soft-deleted products still exist: their files are kept, because re-posting the same
  ``product_id`` revives the product (and ``keep_files`` carries the previous files over).
* ``purge_deleted=True`` first hard-deletes the soft-deleted products (with their versions,
  files, detections and source links); their blobs then become unreferenced unless another
  product or an observation shares the same content.
* Unreferenced blobs are removed (empty fan-out folders are left: removing them could race
  with a post moving a blob in). Staging files left in ``<store>/tmp`` by interrupted uploads
  are removed when older than ``temp_older_than_s``; younger ones may belong to uploads in flight.

Concurrency: the store is listed *before* the references are read, and each candidate is
checked again and removed inside a transaction that blocks new file rows (SQLite: the
write lock of an IMMEDIATE transaction; PostgreSQL: a SHARE lock on the file tables). A post
that commits after that transaction finds its content missing and moves its own staged copy in
(``FileStore.commit``), so a concurrent post never loses a file.
"""
from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from django.db import connection, transaction

from ..models import ObservationFile, Product, ProductFile
from .filestore import FileStore

BATCH = 500
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def migrate_and_seed() -> dict:
    """Apply pending migrations, (re)seed the vocabularies and create the file store (idempotent).

    Returns what was done: ``migrations`` (names applied), ``instruments``, ``product_types``,
    ``roles`` (counts and names after seeding), ``database`` and ``file_store``.
    """
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db.migrations.executor import MigrationExecutor

    from ..models import Instrument, ProductType
    from ..seed import seed
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    call_command("migrate", interactive=False, verbosity=0)
    seed()
    refresh_statistics()
    root = FileStore().root
    root.mkdir(parents=True, exist_ok=True)
    return {"database": f"{connection.vendor} {connection.settings_dict.get('NAME')}",
            "migrations": [f"{m.app_label}.{m.name}" for m, _backwards in plan],
            "instruments": Instrument.objects.count(), "product_types": ProductType.objects.count(),
            "roles": list(Group.objects.order_by("name").values_list("name", flat=True)),
            "file_store": str(root)}


def refresh_statistics() -> None:
    """Re-read the planners' statistics of the project's tables (``ANALYZE``)."""
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("ANALYZE")
        else:   # only the tables this role owns (a database-wide ANALYZE warns about the others)
            tables = connection.introspection.django_table_names(only_existing=True)
            cursor.execute("ANALYZE " + ", ".join(connection.ops.quote_name(t) for t in sorted(tables)))


@dataclass
class GarbageReport:
    dry_run: bool
    blobs_scanned: int = 0
    blobs_removed: list[str] = field(default_factory=list)
    bytes_freed: int = 0
    temp_removed: int = 0
    products_purged: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"dry_run": self.dry_run, "blobs_scanned": self.blobs_scanned,
                "blobs_removed": len(self.blobs_removed), "bytes_freed": self.bytes_freed,
                "temp_removed": self.temp_removed, "products_purged": self.products_purged}


def referenced_digests(digests: list[str] | None = None, ignore_products: list[str] = ()) -> set[str]:
    """SHA-256 digests named by a product or observation file (restricted to ``digests`` if given;
    the files of the products ``ignore_products`` do not count)."""
    found: set[str] = set()
    product_files = ProductFile.objects.exclude(version__product__product_id__in=list(ignore_products))
    for qs in (product_files, ObservationFile.objects.all()):
        if digests is None:
            found.update(qs.values_list("sha256", flat=True).distinct())
        else:
            for i in range(0, len(digests), BATCH):
                found.update(qs.filter(sha256__in=digests[i:i + BATCH]).values_list("sha256", flat=True))
    return found


def _lock_file_tables() -> None:
    if connection.vendor == "postgresql":
        tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in (ProductFile, ObservationFile))
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {tables} IN SHARE MODE")


def purge_deleted_products(dry_run: bool = False) -> list[str]:
    """Hard-delete every soft-deleted product; return their product ids."""
    qs = Product.objects.filter(deleted_at__isnull=False)
    ids = sorted(qs.values_list("product_id", flat=True))
    if not dry_run and ids:
        with transaction.atomic():
            Product.objects.filter(product_id__in=ids, deleted_at__isnull=False).delete()
    return ids


def _stale_temp(store: FileStore, older_than_s: float, dry_run: bool) -> int:
    tmp = store.root / "tmp"
    if not tmp.is_dir():
        return 0
    removed, now = 0, time.time()
    for path in tmp.iterdir():
        try:
            if path.is_file() and not path.is_symlink() and now - path.stat().st_mtime > older_than_s:
                if not dry_run:
                    path.unlink(missing_ok=True)
                removed += 1
        except FileNotFoundError:
            continue
    return removed


def collect_garbage(purge_deleted: bool = False, dry_run: bool = False, temp_older_than_s: float = 86400.0,
                    store: FileStore | None = None) -> GarbageReport:
    """Remove unreferenced blobs (and, with ``purge_deleted``, the soft-deleted products first)."""
    store = store or FileStore()
    report = GarbageReport(dry_run=dry_run)
    report.products_purged = purge_deleted_products(dry_run) if purge_deleted else []
    stored = sorted(d for d in store.stored_digests() if _DIGEST.match(d))  # listed before the references are read (see module doc)
    report.blobs_scanned = len(stored)
    ignore = report.products_purged if dry_run else []  # a dry run deleted nothing: discount them here
    live = referenced_digests(ignore_products=ignore)
    candidates = [d for d in stored if d not in live]
    for i in range(0, len(candidates), BATCH):
        chunk = candidates[i:i + BATCH]
        with transaction.atomic():
            if not dry_run:
                _lock_file_tables()
            still = referenced_digests(chunk, ignore)
            for digest in chunk:
                if digest in still:
                    continue
                path = store.path(digest)
                try:
                    size = path.stat().st_size
                except FileNotFoundError:
                    continue
                if not dry_run:
                    path.unlink(missing_ok=True)
                report.blobs_removed.append(digest)
                report.bytes_freed += size
    report.temp_removed = _stale_temp(store, temp_older_than_s, dry_run)
    return report
