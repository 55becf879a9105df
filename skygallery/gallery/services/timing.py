"""Time fields of the gallery: parsing (ISOT, MJD, IJD) and revolution numbers."""
from __future__ import annotations

import functools
from datetime import datetime, timezone

from skygallery.science import timesys

from ..errors import InvalidInput

TIME_FORMATS = ("isot", "mjd", "ijd")


def parse_time_field(value, field: str, fmt: str | None = None) -> datetime:
    """Parse ISOT (fractional seconds allowed), ``mjd:…``, ``ijd:…`` or a bare number into an aware UTC datetime."""
    if fmt is not None and fmt not in TIME_FORMATS:
        raise InvalidInput((field, f"unknown time format {fmt!r}; one of {', '.join(TIME_FORMATS)}"))
    try:
        return timesys.to_datetime(timesys.parse_time(value, fmt))
    except (timesys.TimeParseError, ValueError, TypeError) as exc:
        raise InvalidInput((field, str(exc))) from None


def revolution_range(t1: datetime, t2: datetime) -> tuple[int, int]:
    """Revolutions containing ``t1`` and ``t2`` (UTC)."""
    try:
        return timesys.default_table().revolutions_between(t1, t2)
    except ValueError as exc:
        raise InvalidInput(("t1", str(exc))) from None


def revolution_bounds(rev: int) -> tuple[datetime, datetime]:
    """Start and end of revolution ``rev`` (UTC) in the current revolution table."""
    return _bounds(timesys.default_table(), rev)


@functools.lru_cache(maxsize=8192)
def _bounds(table, rev: int) -> tuple[datetime, datetime]:
    """Cached per table (a new table, e.g. after ``reset_default_table``, is another key): the
    astropy conversions take ~0.4 ms, and every search by revolution range needs one."""
    return timesys.to_datetime(table.start(rev)), timesys.to_datetime(table.end(rev))


def isot(dt: datetime | None) -> str | None:
    """ISOT string in UTC with millisecond precision (trailing zeros of the fraction kept)."""
    if dt is None:
        return None
    dt = dt.astimezone(timezone.utc) if dt.tzinfo else dt
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}"


def mjd_of(value) -> float:
    """MJD (UTC) of a datetime or an ISOT string."""
    return timesys.mjd(timesys.parse_time(value))


@functools.lru_cache(maxsize=1)
def mission_start() -> datetime:
    """Start of revolution 1 (UTC): no product can start earlier."""
    return revolution_bounds(1)[0]
