"""INTEGRAL time systems: parsing, IJD/MJD/ISOT conversion and science-window ids.

Conventions (``docs/integral-facts.md``, section "Time"):

* **IJD** (INTEGRAL Julian Date) = MJD(TT) − 51544.0, in days of 86400 SI seconds on the TT
  scale. IJD 0 is 1999-12-31T23:58:55.816 UTC. FITS products carry ``MJDREF = 51544``,
  ``TIMESYS = 'TT'``, ``TIMEUNIT = 'd'``; ``TSTART``/``TSTOP`` and light-curve ``TIME`` are IJD.
* **MJD** here is always MJD on the **UTC** scale (days).
* **ISOT** strings are UTC calendar dates, ``YYYY-MM-DDTHH:MM:SS[.fff…]`` (an optional trailing
  ``Z`` and a space instead of ``T`` are accepted on input; output never has the ``Z``).
* TT − UTC = 32.184 s + leap seconds (69.184 s since 2017-01-01). Leap seconds come from the
  table bundled with astropy (``astropy-iers-data``); this module switches
  ``astropy.utils.iers.conf.auto_download`` off on import, never uses UT1, and so never
  touches the network.

Every :class:`~astropy.time.Time` returned by this module is on the UTC scale. Accepted
dates are 1990-01-01 ≤ t < 2100-01-01 (UTC); anything else raises :class:`TimeParseError`.

Revolutions (orbits) live in :mod:`skygallery.science.revolutions`; ``RevolutionTable``,
``default_table``, ``reset_default_table`` and ``revolution_of`` are re-exported here.
Science-window ids are :class:`ScwId`.
"""
from __future__ import annotations

import math
import re
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from numbers import Real
from typing import Any

import erfa
import numpy as np
from astropy.time import Time
from astropy.utils import iers

# Offline: leap seconds from the bundled astropy-iers-data, never a download.
iers.conf.auto_download = False

__all__ = [
    "MJDREF",
    "TimeParseError",
    "parse_time",
    "ijd",
    "mjd",
    "isot",
    "from_ijd",
    "to_datetime",
    "ScwId",
    # re-exported lazily from skygallery.science.revolutions
    "RevolutionTable",
    "default_table",
    "reset_default_table",
    "revolution_of",
]

#: MJD (TT) of IJD 0, in days.
MJDREF = 51544.0
_JDREF = 2400000.5 + MJDREF  # JD (TT) of IJD 0
#: Accepted range, MJD (UTC) in days: [1990-01-01, 2100-01-01).
_MJD_MIN = 47892.0
_MJD_MAX = 88069.0
_IJD_HEURISTIC_LIMIT = 40000.0  # bare numbers below: IJD; at or above: MJD (UTC)
_FORMATS = ("isot", "mjd", "ijd")

_ISOT_RE = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[T ](?P<time>\d{2}:\d{2}:\d{2}(?:\.\d+)?)Z?$"
)
_NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")
_PREFIX_RE = re.compile(r"^(?P<fmt>mjd|ijd)\s*:\s*(?P<num>.*)$", re.IGNORECASE)


class TimeParseError(ValueError):
    """A value that cannot be read as a time in 1990–2100; the message names the value."""


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence ERFA's 'dubious year' warnings (dates beyond the leap-second table)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*dubious year.*", category=erfa.ErfaWarning)
        yield


def _checked(t: Time, value: Any) -> Time:
    """Return ``t`` on the UTC scale after checking it is a finite scalar in 1990–2100."""
    if not t.isscalar:
        raise TimeParseError(f"expected a single time, got an array: {value!r}")
    try:
        with _quiet():
            u = t.utc
            m = float((u.jd1 - 2400000.5) + u.jd2)
    except Exception as exc:  # e.g. a scale astropy cannot convert offline
        raise TimeParseError(f"cannot convert {value!r} to UTC: {exc}") from exc
    if not math.isfinite(m):
        raise TimeParseError(f"not a finite time: {value!r}")
    if not _MJD_MIN <= m < _MJD_MAX:
        raise TimeParseError(f"time {value!r} is outside 1990-01-01 .. 2100-01-01 (UTC)")
    return u


def _from_number(x: float, fmt: str, value: Any) -> Time:
    if not math.isfinite(x):
        raise TimeParseError(f"not a finite number: {value!r}")
    # cheap pre-check (with a day of slack) so absurd numbers never reach ERFA
    lo, hi = (_MJD_MIN - 1, _MJD_MAX + 1) if fmt == "mjd" else (_MJD_MIN - MJDREF - 1, _MJD_MAX - MJDREF + 1)
    if not lo <= x <= hi:
        raise TimeParseError(f"{fmt.upper()} {value!r} is outside 1990-01-01 .. 2100-01-01")
    with _quiet():
        if fmt == "mjd":
            t = Time(x, format="mjd", scale="utc")
        else:
            t = Time(_JDREF, x, format="jd", scale="tt")
    u = _checked(t, value)
    u.format = "isot"
    return u


def _from_isot(text: str, value: Any) -> Time:
    m = _ISOT_RE.match(text)
    if not m:
        raise TimeParseError(f"not an ISOT UTC time (YYYY-MM-DDTHH:MM:SS[.fff][Z]): {value!r}")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            t = Time(f"{m['date']}T{m['time']}", format="isot", scale="utc")
        except ValueError as exc:
            raise TimeParseError(f"invalid date/time {value!r}: {exc}") from exc
    for w in caught:  # 23:59:60 on a day without a leap second is silently rolled over by ERFA
        if "after end of day" in str(w.message):
            raise TimeParseError(f"invalid date/time {value!r}: second 60 outside a leap second")
    return _checked(t, value)


def parse_time(value: Any, fmt: str | None = None) -> Time:
    """Read a time and return it as a scalar :class:`~astropy.time.Time` on the UTC scale.

    Accepted ``value``:

    * ISOT string in UTC, fractional seconds and trailing ``Z`` optional, ``T`` or a space
      between date and time: ``"2022-10-27T13:01:29"``, ``"2022-10-27 13:01:29.123456Z"``;
    * ``"mjd:57818.56"`` — MJD in days, UTC scale; ``"ijd:6274.56"`` — IJD in days, TT scale;
    * a bare number (``int``/``float``/numeric string) in days: IJD (TT) when < 40000,
      otherwise MJD (UTC);
    * :class:`datetime.datetime` (naive means UTC) and :class:`~astropy.time.Time` (returned
      as the same instant on the UTC scale).

    ``fmt`` (``"isot"``, ``"mjd"`` or ``"ijd"``) forces the interpretation; a prefix that
    contradicts it is an error. Dates must lie in 1990-01-01 ≤ t < 2100-01-01 UTC.

    Raises :class:`TimeParseError` (a ``ValueError``) naming the offending value.
    """
    if fmt is not None:
        if not isinstance(fmt, str) or fmt.lower() not in _FORMATS:
            raise TimeParseError(f"unknown time format {fmt!r}; use one of {_FORMATS}")
        fmt = fmt.lower()

    if isinstance(value, Time):
        if fmt is not None:
            raise TimeParseError(f"fmt={fmt!r} given for an astropy Time {value!r}")
        return _checked(value, value)
    if isinstance(value, datetime):
        if fmt is not None:
            raise TimeParseError(f"fmt={fmt!r} given for a datetime {value!r}")
        if value.tzinfo is not None and value.utcoffset() is not None:
            value_utc = value.astimezone(timezone.utc).replace(tzinfo=None)
        else:
            value_utc = value.replace(tzinfo=None)
        if not 1990 <= value_utc.year < 2100:
            raise TimeParseError(f"time {value!r} is outside 1990-01-01 .. 2100-01-01 (UTC)")
        return _checked(Time(value_utc, scale="utc"), value)
    if isinstance(value, (bool, np.bool_)):
        raise TimeParseError(f"not a time: {value!r}")
    if isinstance(value, (Real, np.integer, np.floating)):
        if fmt == "isot":
            raise TimeParseError(f"fmt='isot' needs a string, got {value!r}")
        x = float(value)
        if fmt is None:
            fmt_n = "ijd" if math.isfinite(x) and x < _IJD_HEURISTIC_LIMIT else "mjd"
        else:
            fmt_n = fmt
        return _from_number(x, fmt_n, value)
    if isinstance(value, (str, np.str_)):
        text = str(value).strip()
        pm = _PREFIX_RE.match(text)
        if pm:
            pfx = pm["fmt"].lower()
            if fmt is not None and fmt != pfx:
                raise TimeParseError(f"prefix {pfx!r} contradicts fmt={fmt!r} in {value!r}")
            num = pm["num"].strip()
            if not _NUMBER_RE.match(num):
                raise TimeParseError(f"not a number after {pfx}: in {value!r}")
            return _from_number(float(num), pfx, value)
        if fmt == "isot" or (fmt is None and not _NUMBER_RE.match(text)):
            return _from_isot(text, value)
        if not _NUMBER_RE.match(text):
            raise TimeParseError(f"not a number for fmt={fmt!r}: {value!r}")
        x = float(text)
        if fmt is None:
            fmt = "ijd" if x < _IJD_HEURISTIC_LIMIT else "mjd"
        return _from_number(x, fmt, value)
    raise TimeParseError(f"cannot read a time from {type(value).__name__} {value!r}")


def _as_time(t: Any) -> Time:
    return _checked(t, t) if isinstance(t, Time) else parse_time(t)


def ijd(t: Any) -> float:
    """IJD in days (TT scale): MJD(TT) − 51544.0. ``t`` is anything :func:`parse_time` reads."""
    u = _as_time(t)
    with _quiet():
        tt = u.tt
    return float((tt.jd1 - _JDREF) + tt.jd2)


def mjd(t: Any) -> float:
    """MJD in days on the UTC scale. ``t`` is anything :func:`parse_time` reads."""
    u = _as_time(t)
    return float((u.jd1 - 2400000.5) + u.jd2)


def isot(t: Any, precision: int = 3) -> str:
    """UTC ISOT string ``YYYY-MM-DDTHH:MM:SS.fff`` (``precision`` decimals of a second, 0–9; no ``Z``)."""
    if isinstance(precision, bool) or not isinstance(precision, (int, np.integer)) or not 0 <= precision <= 9:
        raise ValueError(f"precision must be an integer 0..9, got {precision!r}")
    u = _as_time(t).copy()
    u.precision = int(precision)
    with _quiet():
        return str(u.isot)


def from_ijd(x: Any) -> Time:
    """:class:`~astropy.time.Time` (UTC scale) of an IJD ``x`` in days (TT scale)."""
    if isinstance(x, (bool, np.bool_)) or not isinstance(x, (Real, np.integer, np.floating, str)):
        raise TimeParseError(f"IJD must be a number, got {x!r}")
    return parse_time(x, fmt="ijd")


def to_datetime(t: Any) -> datetime:
    """Timezone-aware UTC :class:`datetime.datetime`, rounded to the microsecond.

    A time inside a leap second (``23:59:60.x``) is clamped to ``23:59:59.999999``
    because ``datetime`` cannot represent it.
    """
    u = _as_time(t)
    with _quiet():
        iy, im, iday, ihmsf = erfa.d2dtf("UTC", 6, u.jd1, u.jd2)
    h, mi, s, f = (int(v) for v in (ihmsf["h"], ihmsf["m"], ihmsf["s"], ihmsf["f"]))
    if s >= 60:
        s, f = 59, 999999
    base = datetime(int(iy), int(im), int(iday), tzinfo=timezone.utc)
    return base + timedelta(hours=h, minutes=mi, seconds=s, microseconds=f)


# --------------------------------------------------------------------------- ScW ids

_SCW_RE = re.compile(r"^\d{12}(\.\d{3})?$")


@dataclass(frozen=True)
class ScwId:
    """Science-window id ``RRRRPPPPSSSF.VVV``.

    ``rev`` revolution (4 digits), ``pointing`` pointing number within the revolution (4),
    ``subwindow`` (3), ``scw_type`` F: 0 pointing, 1 slew (1), ``version`` VVV: 000 NRT
    (near-real-time), 001+ CONS (consolidated); ``None`` when the id had no version.
    """

    rev: int
    pointing: int
    subwindow: int
    scw_type: int
    version: int | None = None

    def __post_init__(self) -> None:
        limits = {"rev": 9999, "pointing": 9999, "subwindow": 999, "scw_type": 9, "version": 999}
        for name, top in limits.items():
            v = getattr(self, name)
            if name == "version" and v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not 0 <= v <= top:
                raise ValueError(f"ScwId.{name} must be an integer 0..{top}, got {v!r}")
            object.__setattr__(self, name, int(v))

    @classmethod
    def parse(cls, text: str) -> "ScwId":
        """Parse ``"066500280010.001"`` or the 12-digit form without version (version None)."""
        if not isinstance(text, str) or not _SCW_RE.match(text.strip()):
            raise ValueError(
                f"malformed ScW id {text!r}: expected 12 digits RRRRPPPPSSSF, optionally '.VVV'"
            )
        s = text.strip()
        return cls(
            rev=int(s[0:4]),
            pointing=int(s[4:8]),
            subwindow=int(s[8:11]),
            scw_type=int(s[11]),
            version=int(s[13:16]) if len(s) > 12 else None,
        )

    def __str__(self) -> str:
        base = f"{self.rev:04d}{self.pointing:04d}{self.subwindow:03d}{self.scw_type:d}"
        return base if self.version is None else f"{base}.{self.version:03d}"

    @property
    def is_pointing(self) -> bool:
        """True for a pointing (type digit F = 0)."""
        return self.scw_type == 0

    @property
    def is_slew(self) -> bool:
        """True for a slew (type digit F = 1)."""
        return self.scw_type == 1

    @property
    def data_version(self) -> str | None:
        """``"NRT"`` for version 000, ``"CONS"`` for 001 and above, ``None`` without version."""
        if self.version is None:
            return None
        return "NRT" if self.version == 0 else "CONS"

    def with_version(self, version: int | None) -> "ScwId":
        """The same science window with another version (``None`` drops it)."""
        return ScwId(self.rev, self.pointing, self.subwindow, self.scw_type, version)


# ------------------------------------------------------------ lazy re-exports

_REV_EXPORTS = ("RevolutionTable", "default_table", "reset_default_table", "revolution_of")


def __getattr__(name: str) -> Any:
    if name in _REV_EXPORTS:
        from . import revolutions

        return getattr(revolutions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_REV_EXPORTS))
