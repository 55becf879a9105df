"""The plans SQLite chooses for search filters written as ORs of index ranges.

SQLite answers an OR from several index ranges ("MULTI-INDEX OR") only if each term is indexable on
its own, and it uses a partial index for a term only if the term itself implies the index's
condition; when a term is not, it scans the table (0.3 s at a million products). PostgreSQL combines
partial-index ranges of an OR from the top-level conditions itself (BitmapOr).
"""
import pytest
from django.db import connection

from skygallery.gallery.services import search

pytestmark = [pytest.mark.django_db,
              pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's planner (see the module text)")]


def _plan(params: dict) -> str:
    qs, _ = search.build_queryset(params)
    sql, args = qs.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", args)
        return " / ".join(row[-1] for row in cursor.fetchall())


def test_cone_across_ra_zero_reads_the_zone_index():
    """Across RA 0/360 the zone/RA box is an OR of two ranges, each on the partial index prod_zone_ra."""
    plan = _plan({"ra": 5.0, "dec": 62.0, "radius": 10})
    assert "MULTI-INDEX OR" in plan and "USING INDEX prod_zone_ra" in plan and "SCAN gallery_product" not in plan, plan


def test_kind_and_revolution_ranges_read_the_kind_index():
    plan = _plan({"instrument": "jemx", "family": "image", "rev1": 100, "rev2": 200})
    assert "USING INDEX prod_kind_rev" in plan and "SCAN gallery_product" not in plan, plan


def test_object_type_links_read_their_index():
    """An object type with kinds and revolutions: its links from ranges of prodsrc_otype_kind."""
    from skygallery.gallery.services.sources import create_source
    create_source("Src", 10.0, 10.0, "LowMassXBin")
    plan = _plan({"object_type": "LowMassXBin", "instrument": "isgri", "family": "image", "rev1": 100, "rev2": 200})
    assert "USING INDEX prodsrc_otype_kind" in plan and "SCAN gallery_productsource" not in plan, plan
