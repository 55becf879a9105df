"""Product search over the whole mission, with combinable filters and capped exact totals.

Filter semantics (all optional, combined with AND):
  instrument      name, or ``jemx`` for either JEM-X unit; a comma list means any of them
  product_type    type name (``isgri_image``) — or ``family``: image | spectrum | lightcurve | other
  source          name or alias (normalised: case, spaces and punctuation folded)
  object_type     SIMBAD type of any linked source (``LowMassXBin``)
  e1, e2 (keV)    with ``band_mode``: ``inside`` (product band within [e1, e2], the MMODA rule) or
                  ``overlap`` (product band intersects [e1, e2])
  t1, t2          time range (ISOT, mjd:X, ijd:X or a number); products whose data overlap it
  rev1, rev2      revolution range, with ``rev_mode`` overlap (default) or inside; ``rev`` = one revolution
  span, min_span, max_span, long_term   span = rev2 - rev1 (0 per-revolution, > 0 long-term)
  highlight, data_version, observation, q (free text in titles)
  ra, dec, radius, radius_unit (deg | arcmin | arcsec; a suffix on radius also works: ``30arcmin``)
Sorting: ``-time`` (default), ``time``, ``rev``, ``-rev``, ``title``, ``-title``; ties broken by id,
so paging is stable. Totals are exact up to COUNT_CAP and reported as ``total_exact: false`` above.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce

from skygallery.science.names import normalise_name
from skygallery.science.sphere import Cone

from ..errors import InvalidInput
from ..intervals import revolution_inside_q, revolution_overlap_q, time_overlap_q
from ..models import FAMILIES, Product, ProductSource, Source, SourceName
from . import vocab
from .listing import ListedProduct, listed_links, listed_page, listed_products
from .geometry import cone_filter, radius_to_deg
from .timing import mission_start, parse_time_field, revolution_bounds

SORTS = {"-time": ("-t_start", "-id"), "time": ("t_start", "id"), "rev": ("rev1", "t_start", "id"),
         "-rev": ("-rev1", "-t_start", "-id"), "title": ("title", "id"), "-title": ("-title", "-id")}
MAX_PAGE_SIZE = 500
FEW_MATCHES = 5000  # up to this many matches are found by the filters' indexes and sorted (~√(50 N) at 1M)
SORT_BY_ID_LIST = 1000   # up to this many of them are sorted by id look-ups, more by running the filters again
REVOLUTION_TABLE_MARGIN = timedelta(days=1)
ID_SET = 2000  # a source or object type with up to this many (matching) links is searched as an id set
MAX_KIND_TERMS = 8   # up to this many (instrument, type) pairs, revolution ranges are searched per pair
SELECTIVE_CONE_DEG = 3.0   # smaller cones usually hold few products (a 10° cone on the plane holds ~1%)
_RADIUS = re.compile(r"^\s*([0-9.eE+-]+)\s*(deg|arcmin|arcsec|d|')?\s*$")


@dataclass
class Page:
    results: list[ListedProduct]
    total: int
    total_exact: bool
    page: int
    page_size: int
    query: dict = field(default_factory=dict)


class _Reader:
    """Typed access to query parameters that records every error with its field name."""

    def __init__(self, params: Mapping[str, Any]):
        self.params = {k: v for k, v in params.items() if v not in (None, "")}
        self.errors: list[tuple[str, str]] = []

    def text(self, name: str) -> str | None:
        value = self.params.get(name)
        return None if value is None else str(value).strip() or None

    def number(self, name: str, cast=float, lo=None, hi=None):
        value = self.params.get(name)
        if value is None:
            return None
        try:
            number = cast(value)
        except (TypeError, ValueError):
            self.errors.append((name, f"{value!r} is not a {'whole ' if cast is int else ''}number"))
            return None
        if math.isnan(number) or (lo is not None and number < lo) or (hi is not None and number > hi):
            self.errors.append((name, f"{value!r} outside [{lo}, {hi}]"))
            return None
        return number

    def flag(self, name: str) -> bool | None:
        value = self.params.get(name)
        if value is None:
            return None
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        self.errors.append((name, f"{value!r} is not true or false"))
        return None

    def choice(self, name: str, choices, default=None):
        value = self.text(name)
        if value is None:
            return default
        if value not in choices:
            self.errors.append((name, f"{value!r} is not one of {', '.join(choices)}"))
            return default
        return value

    def time(self, name: str, fmt):
        value = self.params.get(name)
        if value is None:
            return None
        try:
            return parse_time_field(value, name, fmt)
        except InvalidInput as exc:
            self.errors.extend(exc.errors)
            return None

    def vocab(self, fn, value, name):
        try:
            return fn(value, name)
        except InvalidInput as exc:
            self.errors.extend(exc.errors)
            return None


def _radius(r: _Reader) -> float | None:
    raw = r.params.get("radius")
    if raw is None:
        return None
    m = _RADIUS.match(str(raw))
    if not m:
        r.errors.append(("radius", f"{raw!r} is not an angle (e.g. 10, 10deg, 30arcmin)"))
        return None
    unit = {"d": "deg", "'": "arcmin", None: None}.get(m.group(2), m.group(2)) or r.text("radius_unit") or "deg"
    try:
        value = radius_to_deg(float(m.group(1)), unit)
    except (InvalidInput, ValueError) as exc:
        r.errors.extend(getattr(exc, "errors", [("radius", str(exc))]))
        return None
    if not 0 < value <= 180:
        r.errors.append(("radius", "must be in (0, 180] deg"))
        return None
    return value


def build_queryset(params: Mapping[str, Any], dense: bool = False) -> tuple[QuerySet, dict]:
    """Validate ``params`` and return the filtered, ordered queryset and the normalised query.

    ``dense=True`` writes the same filters for a query with many matches, whose first page is best
    read in sort order from a time index: selective filters (source, object type, cone) are then
    checked row by row instead of driving the plan, and revolution ranges bound ``t_start`` from above.
    """
    qs, normalised, plan = _build(params)
    return plan.finish(qs, dense), normalised


def _build(params: Mapping[str, Any]) -> tuple[QuerySet, dict, _Plan]:
    """Validate ``params``: the queryset of the filters that both variants share, the normalised
    query, and the plan that finishes the queryset (``_Plan.finish``) for few or many matches."""
    r = _Reader(params)
    plan = _Plan()
    qs = Product.objects.filter(deleted_at__isnull=True)
    qs = _vocabulary_filters(r, qs, plan)
    qs = _source_filters(r, qs, plan)
    qs = _bands_times_revs(r, qs, plan)
    highlight = r.flag("highlight")
    if highlight is not None:   # as IN (…): SQLite uses no index for a bare boolean column
        plan.link_filters["highlight__in"] = [highlight]
        qs = qs.filter(highlight__in=[highlight])
    dv = r.choice("data_version", ("NRT", "CONS"))
    if dv:
        qs = qs.filter(data_version=dv)
    for name, column in (("observation", "observation__title"), ("product_id", "product_id")):
        if r.text(name):
            qs = qs.filter(**{column: r.text(name)})
    if r.text("q"):
        qs = qs.filter(title__icontains=r.text("q"))
    _cone(r, plan)
    plan.sort = r.choice("sort", tuple(SORTS), "-time")
    if r.errors:
        raise InvalidInput(r.errors)
    return qs, {k: str(v) for k, v in r.params.items()}, plan


@dataclass
class _Plan:
    """What the filters learnt about the query, used to write it for the planners (``finish``).

    Few matches (``dense=False``): every filter indexable; a source or an object type is the id set
    of its links when they are few, else checked per product (``_linked``).
    Many matches (``dense=True``): the first page is read in sort order; a source's products come
    from its links in time order (index ``prodsrc_src_t``), a revolution range bounds t_start, a
    cone and long-term are checked per row.
    """

    sort: str = "-time"
    source_id: int | None = None     # one source (name or alias)
    t_start_before: Any = None       # an upper bound of t_start implied by a revolution range
    has_dense_variant: bool = False  # whether dense=True writes some filter differently
    vocabulary: dict = field(default_factory=dict)   # instrument/type id filters
    kinds: list[tuple[int, int]] = field(default_factory=list)  # the (instrument, type) id pairs they allow
    kinds_used: bool = False         # the revolution terms carry the kinds (index prod_kind_rev)
    selective: bool = False          # a filter that usually leaves few matches (source, type, cone, ranges)
    link_filters: dict = field(default_factory=dict)  # filters on columns that links copy (highlight, span)
    object_types: list[str] | None = None   # spellings of the object type asked for
    long_term: bool | None = None
    cone: Cone | None = None
    revolutions: tuple | None = None  # (rev1, rev2, inside) of a revolution filter (links copy its columns)

    def finish(self, qs: QuerySet, dense: bool = False) -> QuerySet:
        """``qs`` with the filters whose best form depends on the number of matches, ordered."""
        sort = self.sort
        if not self.kinds_used:
            qs = qs.filter(**self.vocabulary)
        if self.long_term is not None:
            span = {"span__gt": 0} if self.long_term else {"span": 0}
            if dense and self.long_term:   # many long-term products: read them in time order, not by span
                qs = qs.alias(span_any=F("span") + 0).filter(span_any__gt=0)
            else:
                qs = qs.filter(**span)
        if self.cone is not None:
            qs = cone_filter(qs, self.cone, indexable=not dense, deleted_at__isnull=True)   # (prod_zone_ra: live)
        if self.object_types is not None:
            qs = qs.filter(self._linked({"object_type__in": self.object_types}, dense, by_revolution=True))
        bound = {"t_start__lte": self.t_start_before} if dense and self.t_start_before is not None else {}
        if self.source_id is None or not dense:
            if self.source_id is not None:
                qs = qs.filter(self._linked({"source_id": self.source_id}, dense))
            return (qs.filter(**bound) if bound else qs).order_by(*SORTS[sort])
        # many matches: one filter() call, so that the link conditions apply to the same joined row
        on_link = {**bound, **self.link_filters, **self.vocabulary}   # answered from the link index, in order
        qs = qs.filter(productsource__source_id=self.source_id, productsource__live=True,
                       **{f"productsource__{k}": v for k, v in on_link.items()})
        if sort in ("-time", "time"):   # the link index (source, t_start, product) is in this order
            sign = "-" if sort == "-time" else ""
            return qs.order_by(f"{sign}productsource__t_start", f"{sign}productsource__product_id")
        return qs.order_by(*SORTS[sort])

    def _linked(self, link: dict, dense: bool, by_revolution: bool = False) -> Q:
        """Products with a ProductSource row matching ``link``: the id set of those links that also
        pass the filters whose columns links copy (kinds, span, highlight; revolutions too if
        ``by_revolution``: for object types, whose index ``prodsrc_otype_kind`` has them) when they
        are few (up to ID_SET, and not reading many matches in time order), else checked per product
        (EXISTS) while the other filters' indexes, or the time-ordered walk, find the candidates."""
        if not dense:
            narrowed = self._narrowed_links(link, by_revolution)
            if narrowed.values("pk")[:ID_SET + 1].count() <= ID_SET:
                return Q(pk__in=narrowed.values("product_id"))
        return Q(Exists(ProductSource.objects.filter(product_id=OuterRef("pk"), live=True, **link)))

    def _narrowed_links(self, link: dict, by_revolution: bool) -> QuerySet:
        """The live links matching ``link`` that pass the filters links copy. A revolution overlap
        repeats ``link`` and ``live`` in every index range: SQLite reads a top-level condition from its
        index alone, and uses a partial index for a range only if the range implies its condition."""
        links = ProductSource.objects.filter(**self.link_filters)
        r1, r2, inside = self.revolutions if by_revolution and self.revolutions else (None, None, True)
        if inside:
            return links.filter(revolution_inside_q(r1, r2), live=True, **link, **self.vocabulary)
        kinds = self.kinds if self.kinds_used else ()
        return links.filter(revolution_overlap_q(r1, r2, kinds, live=True, **link),
                            **({} if self.kinds_used else self.vocabulary))


def _source_filters(r: _Reader, qs: QuerySet, plan: _Plan) -> QuerySet:
    """``source`` (name or alias: one source, through its ProductSource rows) and ``object_type``."""
    source = r.text("source")
    if source:
        names = SourceName.objects.filter(key=normalise_name(source)).order_by()   # (key is unique)
        ids = list(names.values_list("source_id", flat=True)[:1])
        if not ids:
            return qs.none()
        plan.source_id = ids[0]
        plan.has_dense_variant = plan.selective = True
    otype = r.text("object_type")
    if otype:  # exact spellings first: the planners estimate an exact IN far better than upper(...) = ...
        spellings = (Source.objects.filter(object_type__iexact=otype).order_by()   # (not by name: one per source)
                     .values_list("object_type", flat=True).distinct())
        plan.object_types = sorted(spellings)
        plan.has_dense_variant = plan.selective = True
    return qs


def _vocabulary_filters(r: _Reader, qs: QuerySet, plan: _Plan) -> QuerySet:
    """Instrument and product type/family as id lists, types restricted to those the instruments make,
    so that (instrument, product_type, t_start) index ranges answer the query in time order."""
    v = vocab.snapshot()
    instruments = None
    if r.text("instrument"):
        names = {n for part in r.text("instrument").split(",")
                 for n in (r.vocab(vocab.instrument_names, part, "instrument") or [])}
        instruments = [i for i in v.instruments.values() if i.name in names]
        plan.vocabulary["instrument_id__in"] = sorted(i.pk for i in instruments)
    ptype, family = r.text("product_type"), r.choice("family", FAMILIES)
    if ptype in FAMILIES:
        ptype, family = None, ptype
    types = None
    if ptype:
        found = r.vocab(vocab.product_type, ptype, "product_type")
        types = [found] if found else []
    if family:
        types = [t for t in (types if types is not None else v.types.values()) if t.family == family]
    if types is not None or instruments is not None:
        candidates = types if types is not None else list(v.types.values())
        if instruments is not None:
            candidates = [t for t in candidates if any(t.accepts(i) for i in instruments)]
        if types is not None or len(candidates) < len(v.types):
            plan.vocabulary["product_type_id__in"] = sorted(t.pk for t in candidates)
        makers = instruments if instruments is not None else list(v.instruments.values())
        kinds = [(i.pk, t.pk) for i in makers for t in candidates if t.accepts(i)]
        plan.kinds = kinds if len(kinds) <= MAX_KIND_TERMS else []
    return qs


def _bands_times_revs(r: _Reader, qs: QuerySet, plan: _Plan) -> QuerySet:
    e1, e2 = r.number("e1", lo=0), r.number("e2", lo=0)
    if e1 is not None and e2 is not None and e1 >= e2:
        r.errors.append(("e2", f"E1 ({e1} keV) must be lower than E2 ({e2} keV)"))
    else:
        inside = r.choice("band_mode", ("inside", "overlap"), "inside") == "inside"
        band = (("e1_kev__gte", e1), ("e2_kev__lte", e2)) if inside else (("e2_kev__gt", e1), ("e1_kev__lt", e2))
        if e1 is not None or e2 is not None:
            qs = qs.filter(**{k: v for k, v in band if v is not None})
    fmt = r.choice("time_format", ("isot", "mjd", "ijd"))
    t1, t2 = r.time("t1", fmt), r.time("t2", fmt)
    if t1 and t2 and t1 > t2:
        r.errors.append(("t2", "t1 must not be later than t2"))
    elif t1 or t2:
        if t1 is not None and t1 <= mission_start():
            t1 = None  # every product starts after revolution 1: one index range on t_start answers the query
        qs = qs.filter(time_overlap_q(t1, t2))
        plan.selective = plan.selective or t1 is not None
    rev = r.number("rev", int, 0, 99999)
    rev1 = rev if rev is not None else r.number("rev1", int, 0, 99999)
    rev2 = rev if rev is not None else r.number("rev2", int, 0, 99999)
    if rev1 is not None and rev2 is not None and rev1 > rev2:
        r.errors.append(("rev2", "rev1 must not be larger than rev2"))
    elif rev1 is not None or rev2 is not None:
        inside = r.choice("rev_mode", ("overlap", "inside"), "overlap") == "inside"
        plan.revolutions = (rev1, rev2, inside)
        qs = qs.filter(revolution_inside_q(rev1, rev2) if inside else revolution_overlap_q(rev1, rev2, plan.kinds))
        plan.kinds_used = bool(plan.kinds) and not inside
        if rev2 is not None:
            plan.t_start_before = _revolution_end(rev2)
            plan.has_dense_variant = plan.t_start_before is not None
        plan.selective = True
    span = r.number("span", int, 0)
    if span is not None:
        qs = qs.filter(span=span)
    for name, lookup in (("min_span", "span__gte"), ("max_span", "span__lte")):
        value = r.number(name, int, 0)
        if value is not None:
            qs = qs.filter(**{lookup: value})
    long_term = r.flag("long_term")
    if long_term is not None:
        plan.link_filters.update({"span__gt": 0} if long_term else {"span": 0})
        plan.long_term = long_term
        plan.has_dense_variant = plan.has_dense_variant or long_term
    return qs


def _revolution_end(rev: int):
    """An upper bound of the start of products that overlap revolution ``rev`` (UTC), or None past the
    revolution table: its end, plus a day for products posted under another revolution table."""
    try:
        return revolution_bounds(rev)[1] + REVOLUTION_TABLE_MARGIN
    except (ValueError, KeyError, IndexError):
        return None


def _cone(r: _Reader, plan: _Plan) -> None:
    present = [n for n in ("ra", "dec", "radius") if n in r.params]
    if not present:
        return
    ra, dec = r.number("ra", lo=0, hi=360), r.number("dec", lo=-90, hi=90)
    radius = _radius(r)
    if ra is not None and ra >= 360:
        r.errors.append(("ra", "RA must be in [0, 360) deg"))
        return
    missing = [n for n in ("ra", "dec", "radius") if n not in r.params]
    if missing:
        r.errors.append((missing[0], "a cone search needs ra, dec and radius"))
        return
    if None in (ra, dec, radius):
        return
    plan.cone = Cone(ra, dec, radius)
    plan.has_dense_variant = True
    plan.selective = plan.selective or radius <= SELECTIVE_CONE_DEG


def count_capped(qs: QuerySet, cap: int | None = None) -> tuple[int, bool]:
    """Exact count up to ``cap``; (cap, False) when there are more."""
    cap = cap or settings.SKYGALLERY["COUNT_CAP"]
    sql = _ids_sql(qs, cap + 1)
    if sql is None:
        return 0, True
    with connections[qs.db].cursor() as cursor:    # the SQL of QuerySet.count() without its aggregation set-up
        cursor.execute(f"SELECT COUNT(*) FROM ({sql[0]}) capped", sql[1])
        n = cursor.fetchone()[0]
    return (cap, False) if n > cap else (n, True)


def _ids_capped(qs: QuerySet, cap: int) -> list[int]:
    """The ids of up to ``cap`` + 1 matches, in no particular order (a count with the ids)."""
    sql = _ids_sql(qs, cap + 1)
    if sql is None:
        return []
    with connections[qs.db].cursor() as cursor:
        cursor.execute(*sql)
        return [row[0] for row in cursor.fetchall()]


def _ids_sql(qs: QuerySet, limit: int) -> tuple[str, tuple] | None:
    """SQL and parameters of the ids of ``limit`` matches; None when the filters can match nothing."""
    try:
        return qs.order_by().values("pk")[:limit].query.sql_with_params()
    except EmptyResultSet:   # a filter that can match nothing (an empty id list)
        return None


LINK_COPIED = {"source", "sort", "instrument", "product_type", "family", "highlight", "long_term"}


def _links_only(plan: _Plan, normalised: dict) -> QuerySet | None:
    """For a search by source and columns copied onto its links (instrument, type, highlight,
    long-term), its matching ProductSource rows: counted on one index, without reading products."""
    if plan.source_id is None or not set(normalised) <= LINK_COPIED:
        return None
    return ProductSource.objects.filter(source_id=plan.source_id, live=True, **plan.vocabulary, **plan.link_filters)


def search_products(params: Mapping[str, Any]) -> Page:
    r = _Reader(params)
    page = r.number("page", int, 1, 10**6) or 1
    size = r.number("page_size", int, 1, MAX_PAGE_SIZE) or 50
    if r.errors:
        raise InvalidInput(r.errors)
    base, normalised, plan = _build({k: v for k, v in params.items() if k not in ("page", "page_size")})
    links, sort = _links_only(plan, normalised), plan.sort
    page_slice = slice((page - 1) * size, page * size)
    qs = ids = None
    if links is None:
        qs = plan.finish(base)
        if plan.selective:   # likely few: their ids in one pass, which also counts them
            cap = settings.SKYGALLERY["COUNT_CAP"]
            ids = _ids_capped(qs, cap)
            total, exact = (cap, False) if len(ids) > cap else (len(ids), True)
        else:
            total, exact = count_capped(qs)
    else:
        total, exact = count_capped(links)
    if exact and total <= FEW_MATCHES and links is None:
        if ids is not None and len(ids) <= SORT_BY_ID_LIST:
            rows = listed_products(_sorted_page_of(ids, sort, page_slice, qs.db), qs.db)
        else:
            rows = listed_page(_sorted_unindexed(qs, sort), page_slice)
    elif links is not None and sort in ("-time", "time"):   # the page's ids from the link index, in its order
        rows = listed_links(links, page_slice, newest=sort == "-time")
    else:
        if plan.has_dense_variant or qs is None:
            qs = plan.finish(base, dense=True)
        rows = listed_page(qs, page_slice)
    return Page(rows, total, exact, page, size, normalised)


def _sort_columns(sort: str) -> list[tuple[str, bool]]:
    """(field name, descending) of each key of ``sort``."""
    return [(name.lstrip("-"), name.startswith("-")) for name in SORTS[sort]]


def _sorted_unindexed(qs: QuerySet, sort: str) -> QuerySet:
    """``qs`` (few matches) sorted on expressions that no index answers.

    With few matches, the planners' best plan is to find them through the filters' indexes and sort
    them; left alone they may instead walk the sort column's index over most of the table, testing
    every row. The expressions (``COALESCE(x, x)``) leave them only the first.
    """
    keys = [(Coalesce(F(name), F(name)), descending) for name, descending in _sort_columns(sort)]
    return qs.order_by(*(key.desc() if descending else key.asc() for key, descending in keys))


def _sorted_page_of(ids: list[int], sort: str, page: slice, db: str) -> list[int]:
    """The ``page`` of the products ``ids`` in ``sort`` order, sorted by the database (whose collation
    orders titles) on expressions that no index answers, so that it looks the ids up and sorts them.
    The ids (integers read from the database) are written as literals: as parameters, Django
    prepares each one (~5 µs an id)."""
    if not ids:
        return []
    order = []
    for name, descending in _sort_columns(sort):
        column = Product._meta.get_field(name).column
        order.append(f"COALESCE({column}, {column}) {'DESC' if descending else 'ASC'}")
    with connections[db].cursor() as cursor:
        cursor.execute(f"SELECT id FROM {Product._meta.db_table} WHERE id IN ({', '.join(str(int(i)) for i in ids)}) "
                       f"ORDER BY {', '.join(order)} LIMIT %s OFFSET %s", [page.stop - page.start, page.start])
        return [row[0] for row in cursor.fetchall()]
