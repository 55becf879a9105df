"""The settings every gallery database connection starts with (``site/settings.py``)."""
import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _one(sql: str):
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def test_session_settings():
    if connection.vendor == "sqlite":
        assert _one("PRAGMA cache_size") == -65536        # KiB: a 64 MiB page cache
        assert _one("PRAGMA busy_timeout") == 10000       # ms
    else:   # SKYGALLERY_PG_OPTIONS defaults: no JIT, SSD random-read cost, no parallel workers
        assert (_one("SHOW jit"), _one("SHOW random_page_cost"), _one("SHOW max_parallel_workers_per_gather")) == (
            "off", "1.1", "0")
