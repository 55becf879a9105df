"""Products as they are listed (search results, cards, feeds): plain rows, not model instances.

A listing needs a product's summary columns, its labels and its sources' names, never its
provenance or files. Reading those columns as tuples into a slotted ``ListedProduct`` costs a
fraction of building model instances (every field, JSON provenance decoded, per-field converters),
which was most of a search's time. A page is listed in two steps: its product ids, in order,
from the query that filters and sorts (``listed_page``), then their rows by primary key with one
fixed statement (``listed_products``), with the page's source names from another and its
observations, when any product has one, from a third.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connections
from django.db.models import QuerySet

from ..models import Instrument, Observation, Product, ProductSource, ProductType, Source
from . import vocab
from .vocab import Vocabulary

COLUMNS = ("id", "product_id", "title", "instrument_id", "product_type_id", "e1_kev", "e2_kev", "t_start", "t_end",
           "rev1", "rev2", "span", "ra_deg", "dec_deg", "observation_id", "time_bin_s", "data_version", "highlight",
           "version", "created_at", "updated_at")
_TIMES = ("t_start", "t_end", "created_at", "updated_at")
_NAMES_SQL = (f"SELECT l.product_id, s.name FROM {ProductSource._meta.db_table} l "
              f"JOIN {Source._meta.db_table} s ON s.id = l.source_id WHERE l.product_id IN ({{ids}})")


class ListedProduct:
    """The listed columns of a product (times as aware UTC datetimes, energies in keV, positions in
    degrees, ``time_bin_s`` in seconds), its instrument and type from the vocabulary snapshot, its
    observation (or None) and its sources' names in alphabetical order."""

    __slots__ = COLUMNS + ("instrument", "product_type", "observation", "source_names")
    instrument: Instrument
    product_type: ProductType
    observation: Observation | None
    source_names: list[str]

    def __init__(self, row: tuple, v: Vocabulary, to_time: Callable[[Any], datetime]):
        """``row``: the ``COLUMNS`` as ``_RowFormat.sql`` selects them; ``to_time`` makes its times aware UTC."""
        (self.id, self.product_id, self.title, self.instrument_id, self.product_type_id, self.e1_kev, self.e2_kev,
         t_start, t_end, self.rev1, self.rev2, self.span, self.ra_deg, self.dec_deg, self.observation_id,
         self.time_bin_s, self.data_version, highlight, self.version, created_at, updated_at) = row
        self.t_start, self.t_end = to_time(t_start), to_time(t_end)
        self.created_at, self.updated_at = to_time(created_at), to_time(updated_at)
        self.highlight = bool(highlight)   # SQLite: 0/1
        self.instrument, self.product_type = v.instruments[self.instrument_id], v.types[self.product_type_id]
        self.observation, self.source_names = None, []

    @property
    def pk(self) -> int:
        return self.id

    @property
    def is_long_term(self) -> bool:
        return self.span > 0

    def __repr__(self) -> str:
        return f"<ListedProduct {self.product_id}>"


@dataclass(frozen=True)
class _RowFormat:
    """How one database backend selects the listed columns, and reads its times back.

    SQLite stores times as ISO text in UTC: they are selected as text (without a declared type, so
    the driver's converter and Django's parse-then-make-aware pass, ~2 µs a value, are skipped) and
    read by one ``fromisoformat``. PostgreSQL's driver returns aware datetimes.
    """

    sql: str
    to_time: Callable[[Any], datetime]

    @staticmethod
    def of(vendor: str) -> _RowFormat:
        text = vendor == "sqlite"
        columns = [Product._meta.get_field(c).column for c in COLUMNS]
        columns = [f"CAST({c} AS TEXT)" if text and name in _TIMES else c for name, c in zip(COLUMNS, columns)]
        return _RowFormat(f"SELECT {', '.join(columns)} FROM {Product._meta.db_table} WHERE id IN ({{ids}})",
                       _utc_text if text else _as_is)


def _utc_text(value: str) -> datetime:
    return datetime.fromisoformat(value + "+00:00")


def _as_is(value: datetime) -> datetime:
    return value


_ROW_FORMATS = {vendor: _RowFormat.of(vendor) for vendor in ("sqlite", "postgresql")}


def listed_page(qs: QuerySet, page: slice) -> list[ListedProduct]:
    """The ``page`` slice of ``qs`` (Products, filtered and ordered) as listed products, in order."""
    return listed_products(list(qs.values_list("pk", flat=True)[page]), qs.db)


def listed_links(links: QuerySet, page: slice, newest: bool = True) -> list[ListedProduct]:
    """The products of the ``page`` slice of ProductSource ``links`` in time order (newest first by
    default), read from a per-source link index (source, t_start, product) without product rows."""
    sign = "-" if newest else ""
    return listed_products(list(links.order_by(f"{sign}t_start", f"{sign}product_id")
                                .values_list("product_id", flat=True)[page]), links.db)


def listed_products(ids: Sequence[int], db: str = "default") -> list[ListedProduct]:
    """The products ``ids`` as listed products, in the order of ``ids`` (unknown ids are left out)."""
    if not ids:
        return []
    connection = connections[db]
    reader = _ROW_FORMATS[connection.vendor]
    id_list = ", ".join(str(int(i)) for i in ids)
    with connection.cursor() as cursor:
        cursor.execute(reader.sql.format(ids=id_list))
        v = vocab.snapshot()
        by_id = {p.id: p for p in (ListedProduct(row, v, reader.to_time) for row in cursor.fetchall())}
        cursor.execute(_NAMES_SQL.format(ids=id_list))
        for product_id, name in cursor.fetchall():
            if product_id in by_id:   # (a product deleted between the two statements is left out)
                by_id[product_id].source_names.append(name)
    observations = {p.observation_id for p in by_id.values() if p.observation_id is not None}
    found = Observation.objects.using(db).in_bulk(observations) if observations else {}
    products = [by_id[i] for i in ids if i in by_id]
    for p in products:
        p.source_names.sort()
        p.observation = found.get(p.observation_id)
    return products
