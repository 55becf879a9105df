"""Index-friendly interval overlap on two columns (start, end) of very large tables.

``start <= B AND end >= A`` alone cannot be answered from one B-tree: the range on ``start``
leaves half the table to filter on ``end``. Each row therefore also stores the *class* of its
length, ``bit_length(ceil(length))``: a row of class c is shorter than 2**c units, so it can
only overlap [A, B] if ``start >= A - 2**c``. The query becomes a short OR of bounded index
ranges on (class, start), one per class, which both SQLite and PostgreSQL answer from the
index. Revolutions use unit 1 revolution, times unit 1 hour.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from django.db.models import Q

from .ranges import AnyRange

MAX_SPAN_CLASS = 13   # spans below 8192 revolutions
MAX_DUR_CLASS = 19    # durations below 2**19 h (60 years)


def span_class(span_revs: int) -> int:
    """Class of a revolution span (span < 2**class)."""
    return int(span_revs).bit_length()


def duration_class(seconds: float) -> int:
    """Class of a time interval (duration < 2**class hours)."""
    return int(math.ceil(max(0.0, seconds) / 3600.0)).bit_length()


def _bucketed_overlap(start: str, end: str, cls: str, lo, hi, max_class: int, width, within=({},)) -> Q:
    """Rows whose [start, end] overlaps [lo, hi]; ``width(c)`` is the longest length of class c.

    ``within``: conditions (dicts of ``column`` or ``column__in`` look-ups) of which each row meets
    one; each is repeated in every term so that an index led by those columns, then (class, start),
    answers each term alone. The terms are rendered as one expression (``ranges.AnyRange``).
    """
    if lo is None and hi is None:
        return Q()
    if lo is None:
        return Q(**{f"{start}__lte": hi})
    terms = []
    for extra in within:
        fixed = [(k.removesuffix("__in"), "in", v) if k.endswith("__in") else (k, "=", v) for k, v in extra.items()]
        for c in range(max_class + 1):
            low = lo - width(c)
            term = fixed + [(cls, "=", c), (start, ">=", max(low, 0) if isinstance(low, int) else low)]
            terms.append(term + ([(start, "<=", hi)] if hi is not None else []))
    return Q(AnyRange(terms)) & Q(**{f"{end}__gte": lo})


def revolution_overlap_q(r1: int | None, r2: int | None, kinds=(), **common) -> Q:
    """Products (or product links) whose [rev1, rev2] overlaps [r1, r2] (either bound may be open).

    ``kinds``: (instrument id, product type id) pairs the rows are restricted to, if any; the terms
    then match the index ``prod_kind_rev`` (instrument, product_type, span_class, rev1). ``common``:
    lookups repeated in every term, so that an index led by them answers each term (links:
    ``object_type__in`` and ``prodsrc_otype_kind``).
    """
    within = [{**common, "instrument_id": i, "product_type_id": t} for i, t in kinds] or [common]
    return _bucketed_overlap("rev1", "rev2", "span_class", r1, r2, MAX_SPAN_CLASS, lambda c: (1 << c) - 1, within)


def revolution_inside_q(r1: int | None, r2: int | None) -> Q:
    """Products whose revolutions lie inside [r1, r2] (the MMODA semantics)."""
    q = Q()
    if r1 is not None:
        q &= Q(rev1__gte=r1)
    if r2 is not None:
        q &= Q(rev2__lte=r2)
    return q


def time_overlap_q(t1: datetime | None, t2: datetime | None) -> Q:
    """Products whose [t_start, t_end] overlaps [t1, t2] (either bound may be open)."""
    return _bucketed_overlap("t_start", "t_end", "dur_class", t1, t2, MAX_DUR_CLASS, lambda c: timedelta(hours=1 << c))
