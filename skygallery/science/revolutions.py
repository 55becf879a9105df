"""INTEGRAL revolutions (orbits): start times, usable (out-of-radiation-belt) windows.

A revolution starts at perigee. All times are handled internally as IJD (days, TT scale; see
:mod:`skygallery.science.timesys`) and returned as :class:`~astropy.time.Time` on the UTC scale.
Revolution starts are a monotonic piecewise-linear function of the revolution number through a
list of *knots* (rev, IJD); between knots the period is constant and beyond the last knot the
last period is used. Valid revolutions are 1 ≤ rev ≤ ``MAX_REVOLUTION`` (3000); times before the
start of rev 1 or after the end of rev 3000 raise ``ValueError``. A time within ``BOUNDARY_TOL``
(1e-9 d ≈ 0.09 ms) before a start counts as the new revolution, so that
``revolution_of(start(n)) == n`` survives float round trips.

Built-in model (:meth:`RevolutionTable.builtin`), only from the published numbers of
``docs/integral-facts.md``:

* rev 1 starts 2002-10-17T05:47:25 UTC (anchor); rev 2146 perigee 2019-10-08T19:36:44 UTC and
  rev 2722 perigee 2023-12-19T01:00:05 UTC (anchors, ISDC reports);
* period 2.659 d after the manoeuvres of revs 1496–1504: rev 1504 = rev 2146 − 642 × 2.659 d;
* during the manoeuvres (8 revs) the mean of the two periods, (2.991 + 2.659) / 2 = 2.825 d;
* period 2.991 d (3 sidereal days) before: rev 2 = rev 1496 − 1494 × 2.991 d. The 2.991-d
  lattice is phased from the later anchors, not from rev 1: rev 1 starts on launch day, before
  the orbit reached its operational period, and a lattice started at rev 1 is 17–25 h late all
  through 2002–2015 (20 % of all times in the wrong revolution). Rev 1 → rev 2 is the single
  interpolated step that absorbs that (model rev 1 lasts 2.34 d; the real one 2.76 d);
* rev 2146 → 2722: 2.66011 d (interpolated); beyond rev 2722 the same period, giving rev 2886
  at 2025-02-27T07:12 UTC (facts: science operations ended 2025-02-28, ≈ rev 2886).

Accuracy of the built-in model, measured against the real ``revno`` table (revs 1–2191, model
minus table, start times): **max |error| 595 min (9.9 h, at rev 2), rms 272 min (4.5 h)**.
Revs 6–1495 are 109…591 min late (the real period wandered between 2.9900 and 2.9916 d over
250-orbit stretches, which a constant 2.991 d cannot follow); the manoeuvres reach −360 min; revs 1504–2191 are within −29…+141 min and revs
1800–2191 within −29…+56 min. Of the time span 2002-10-17 … 2020-02-05, 5.3 % is assigned to a
neighbouring revolution. Tests assert max < 600 min and rms < 280 min. Use the real table when
available.

Tables (:meth:`RevolutionTable.from_files`): ``revno`` rows (``DOY SAT P/R DATE REV``, e.g.
`` 33 121  P  2020-02-02T19:46:05Z              START REVOLUTION 2190``) are used where they
exist; the model knots before the first row and after the last row extend them, so a newer
table file overrides the model. ``rad.dat`` (whitespace/tab separated: rev, date, time, perigee
IJD, belt exit IJD, belt entry IJD, …; ``nan`` allowed) gives the usable windows. A rad.dat
value is only used when it lies in its revolution (exit in the first half, entry in the second
half); otherwise — ``nan``, rows missing (rad.dat covers revs 2–2131), or about 15 rows of the
real file whose entry is listed one orbit late or whose exit precedes perigee — the model
fractions apply: belt exit at ``EXIT_FRACTION`` = 0.046 and entry at ``ENTRY_FRACTION`` = 0.957
of the revolution. These are the medians over the 2066 / 2065 finite rad.dat values relative to
the revno starts (usable ≈ 91 % of an orbit; the facts file says ≈ 90 %).
"""
from __future__ import annotations

import logging
import math
import os
import re
import threading
from bisect import bisect_right
from pathlib import Path
from typing import Any

import numpy as np
from astropy.time import Time

from .timesys import MJDREF, from_ijd, ijd, parse_time

__all__ = [
    "MAX_REVOLUTION",
    "EXIT_FRACTION",
    "ENTRY_FRACTION",
    "RevolutionTable",
    "default_table",
    "reset_default_table",
    "revolution_of",
]

log = logging.getLogger(__name__)

MAX_REVOLUTION = 3000
#: belt exit / entry as fractions of the revolution (model when rad.dat has no usable value)
EXIT_FRACTION = 0.046
ENTRY_FRACTION = 0.957
#: tolerance in days (≈ 0.09 ms) when matching a time to a revolution start
BOUNDARY_TOL = 1e-9

# Published numbers (docs/integral-facts.md, "Time").
_REV1_START = "2002-10-17T05:47:25"
_PERIOD_EARLY = 2.991  # d, until the manoeuvres
_PERIOD_LATE = 2.659  # d, after the manoeuvres
_MANOEUVRE = (1496, 1504)
_ANCHORS = ((2146, "2019-10-08T19:36:44"), (2722, "2023-12-19T01:00:05"))

_START_RE = re.compile(r"START\s+REVOLUTION", re.IGNORECASE)
_REVNO_RE = re.compile(
    r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?)Z?\s+START\s+REVOLUTION\s+(\d+)\s*$",
    re.IGNORECASE,
)


def _model_knots() -> list[tuple[int, float]]:
    """Knots (rev, IJD) of the built-in model; see the module docstring."""
    t1 = ijd(_REV1_START)
    (r_a, s_a), (r_b, s_b) = _ANCHORS
    t_a, t_b = ijd(s_a), ijd(s_b)
    m0, m1 = _MANOEUVRE
    t_m1 = t_a - (r_a - m1) * _PERIOD_LATE
    t_m0 = t_m1 - (m1 - m0) * (_PERIOD_EARLY + _PERIOD_LATE) / 2
    t_2 = t_m0 - (m0 - 2) * _PERIOD_EARLY
    return [(1, t1), (2, t_2), (m0, t_m0), (m1, t_m1), (r_a, t_a), (r_b, t_b)]


def _check_rev(rev: Any, top: int = MAX_REVOLUTION) -> int:
    if isinstance(rev, (bool, np.bool_)) or not isinstance(rev, (int, np.integer)):
        raise TypeError(f"revolution must be an integer, got {rev!r}")
    if not 1 <= rev <= top:
        raise ValueError(f"revolution {rev} outside the valid range 1..{top}")
    return int(rev)


class RevolutionTable:
    """Revolution start times and usable windows (times as UTC :class:`~astropy.time.Time`).

    Build with :meth:`builtin` (model) or :meth:`from_files` (real ``revno``/``rad.dat``).
    Attribute ``source`` is ``"table"`` or ``"model"``; ``table_revs`` is the (first, last)
    revolution of the loaded table, or ``None``.
    """

    def __init__(
        self,
        knots: list[tuple[int, float]],
        source: str,
        rad: dict[int, tuple[float, float]] | None = None,
        table_revs: tuple[int, int] | None = None,
    ) -> None:
        knots = sorted(knots)
        revs = [int(r) for r, _ in knots]
        times = [float(t) for _, t in knots]
        if len(revs) < 2:
            raise ValueError("a revolution table needs at least two revolutions")
        if any(b <= a for a, b in zip(revs, revs[1:])) or any(b <= a for a, b in zip(times, times[1:])):
            raise ValueError("revolution starts must increase strictly with the revolution number")
        self._revs = revs
        self._ijd = times
        self._exact = dict(zip(revs, times))
        self._rad = dict(rad or {})
        self.source = source
        self.table_revs = table_revs

    def __repr__(self) -> str:
        return (
            f"RevolutionTable(source={self.source!r}, table_revs={self.table_revs}, "
            f"knots={len(self._revs)}, rad_rows={len(self._rad)})"
        )

    # ---------------------------------------------------------------- constructors
    @classmethod
    def builtin(cls, rad_path: str | os.PathLike | None = None) -> "RevolutionTable":
        """The built-in model (accuracy in the module docstring); optionally with a rad.dat."""
        rad = _read_rad(Path(rad_path)) if rad_path is not None else None
        return cls(_model_knots(), "model", rad)

    @classmethod
    def from_files(
        cls, revno_path: str | os.PathLike, rad_path: str | os.PathLike | None = None
    ) -> "RevolutionTable":
        """Load a ``revno`` start table (and optionally ``rad.dat``); the model extends it."""
        rows = _read_revno(Path(revno_path))
        first, last = rows[0][0], rows[-1][0]
        t_first, t_last = rows[0][1], rows[-1][1]
        model = _model_knots()
        before = [(r, t) for r, t in model if r < first and t < t_first]
        after = [(r, t) for r, t in model if r > last and t > t_last]
        rad = _read_rad(Path(rad_path)) if rad_path is not None else None
        return cls(before + rows + after, "table", rad, (first, last))

    # ---------------------------------------------------------------- numeric core
    def start_ijd(self, rev: int) -> float:
        """Start of ``rev`` as IJD (days, TT)."""
        rev = _check_rev(rev, MAX_REVOLUTION + 1)
        if rev in self._exact:
            return self._exact[rev]
        i = min(max(bisect_right(self._revs, rev) - 1, 0), len(self._revs) - 2)
        r0, r1 = self._revs[i], self._revs[i + 1]
        t0, t1 = self._ijd[i], self._ijd[i + 1]
        return t0 + (rev - r0) * (t1 - t0) / (r1 - r0)

    def revolution_of_ijd(self, x: float) -> int:
        """Revolution containing IJD ``x`` (days, TT)."""
        x = float(x)
        if not math.isfinite(x):
            raise ValueError(f"IJD must be finite, got {x!r}")
        if x < self.start_ijd(1) - BOUNDARY_TOL:
            raise ValueError(
                f"time IJD {x:.6f} ({from_ijd(x).isot} UTC) is before the start of revolution 1 "
                f"({from_ijd(self.start_ijd(1)).isot} UTC)"
            )
        if x >= self.start_ijd(MAX_REVOLUTION + 1) - BOUNDARY_TOL:
            raise ValueError(
                f"time IJD {x:.6f} is after the end of revolution {MAX_REVOLUTION} "
                f"({from_ijd(self.start_ijd(MAX_REVOLUTION + 1)).isot} UTC), outside the valid range"
            )
        i = min(max(bisect_right(self._ijd, x) - 1, 0), len(self._ijd) - 2)
        r0, r1 = self._revs[i], self._revs[i + 1]
        t0, t1 = self._ijd[i], self._ijd[i + 1]
        n = min(max(int(math.floor(r0 + (x - t0) * (r1 - r0) / (t1 - t0))), 1), MAX_REVOLUTION)
        while n < MAX_REVOLUTION and self.start_ijd(n + 1) - BOUNDARY_TOL <= x:
            n += 1
        while n > 1 and self.start_ijd(n) - BOUNDARY_TOL > x:
            n -= 1
        return n

    # ---------------------------------------------------------------- public API
    def revolution_of(self, t: Any) -> int:
        """Revolution number containing time ``t`` (anything :func:`parse_time` reads)."""
        return self.revolution_of_ijd(ijd(parse_time(t)))

    def start(self, rev: int) -> Time:
        """Start (perigee) of revolution ``rev`` as UTC :class:`~astropy.time.Time`."""
        return from_ijd(self.start_ijd(_check_rev(rev)))

    def end(self, rev: int) -> Time:
        """End of revolution ``rev`` (= start of ``rev + 1``), UTC :class:`~astropy.time.Time`."""
        return from_ijd(self.start_ijd(_check_rev(rev) + 1))

    def period(self, rev: int) -> float:
        """Length of revolution ``rev`` in days."""
        rev = _check_rev(rev)
        return self.start_ijd(rev + 1) - self.start_ijd(rev)

    def usable(self, rev: int) -> tuple[Time, Time]:
        """(radiation-belt exit, belt entry) of ``rev``, UTC times: rad.dat or model fractions."""
        rev = _check_rev(rev)
        s, e = self.start_ijd(rev), self.start_ijd(rev + 1)
        mid = 0.5 * (s + e)
        x_exit, x_entry = self._rad.get(rev, (math.nan, math.nan))
        if not (math.isfinite(x_exit) and s <= x_exit <= mid):
            x_exit = s + EXIT_FRACTION * (e - s)
        if not (math.isfinite(x_entry) and mid <= x_entry <= e):
            x_entry = s + ENTRY_FRACTION * (e - s)
        return from_ijd(x_exit), from_ijd(x_entry)

    def revolutions_between(self, t1: Any, t2: Any) -> tuple[int, int]:
        """(first, last) revolution touched by the interval ``t1`` ≤ t ≤ ``t2``."""
        x1, x2 = ijd(parse_time(t1)), ijd(parse_time(t2))
        if x2 < x1:
            raise ValueError(f"interval end {t2!r} is before its start {t1!r}")
        return self.revolution_of_ijd(x1), self.revolution_of_ijd(x2)


# -------------------------------------------------------------------- file readers

def _read_revno(path: Path) -> list[tuple[int, float]]:
    """Rows (rev, start IJD) of a ``revno`` file; header lines are skipped."""
    revs: list[int] = []
    stamps: list[str] = []
    with open(path, encoding="ascii", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            if not _START_RE.search(line):
                continue
            m = _REVNO_RE.search(line.rstrip())
            if not m:
                raise ValueError(f"{path}:{lineno}: unreadable revolution row {line.rstrip()!r}")
            revs.append(int(m.group(2)))
            stamps.append(m.group(1))
    if len(revs) < 2:
        raise ValueError(f"{path}: fewer than two 'START REVOLUTION' rows")
    try:
        times = Time(stamps, format="isot", scale="utc")
    except ValueError as exc:
        raise ValueError(f"{path}: invalid date in a revolution row: {exc}") from exc
    tt = times.tt
    ijds = (tt.jd1 - (2400000.5 + MJDREF)) + tt.jd2
    rows = sorted(zip(revs, (float(v) for v in ijds)))
    for (ra, ta), (rb, tb) in zip(rows, rows[1:]):
        if rb == ra:
            raise ValueError(f"{path}: revolution {ra} listed twice")
        if tb <= ta:
            raise ValueError(f"{path}: start of revolution {rb} is not after that of {ra}")
    return rows


def _read_rad(path: Path) -> dict[int, tuple[float, float]]:
    """{rev: (belt exit IJD, belt entry IJD)} from a rad.dat file (``nan`` kept)."""
    out: dict[int, tuple[float, float]] = {}
    with open(path, encoding="ascii", errors="replace") as fh:
        for lineno, line in enumerate(fh, 1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            try:
                if len(fields) < 6:
                    raise ValueError("fewer than 6 columns")
                out[int(fields[0])] = (float(fields[4]), float(fields[5]))
            except ValueError as exc:
                raise ValueError(f"{path}:{lineno}: unreadable rad.dat row ({exc}): {line.rstrip()!r}") from exc
    return out


# -------------------------------------------------------------------- default table

_default: RevolutionTable | None = None
_lock = threading.Lock()


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    if not value:
        return None
    path = Path(value).expanduser()
    if not path.is_file():
        log.warning("%s=%s does not exist; ignoring it", name, value)
        return None
    return path


def default_table() -> RevolutionTable:
    """Cached table: files ``$SKYGALLERY_REVNO`` (+ ``$SKYGALLERY_RADDAT``) if set, else the model."""
    global _default
    with _lock:
        if _default is None:
            revno, rad = _env_path("SKYGALLERY_REVNO"), _env_path("SKYGALLERY_RADDAT")
            if revno is not None:
                _default = RevolutionTable.from_files(revno, rad)
            else:
                _default = RevolutionTable.builtin(rad)
        return _default


def reset_default_table() -> None:
    """Forget the cached :func:`default_table` (re-read the environment next time)."""
    global _default
    with _lock:
        _default = None


def revolution_of(t: Any) -> int:
    """Revolution containing time ``t``, from :func:`default_table`."""
    return default_table().revolution_of(t)

