"""Pointing plans on the real-like INTEGRAL timeline.

A revolution's usable window runs from radiation-belt exit to entry (``RevolutionTable.usable``,
≈ 90 % of the orbit). Observations (target, pattern, PI, proposal) fill it in order; each is a
sequence of pointings of ``pointing_s`` (1800–3600 s) separated by slews of ``slew_s``:

* ``5x5``: 25 pointings on a square grid of ``step_deg`` (2.1°) centred on the target,
  visited row by row in a boustrophedon;
* ``hex``: the target then six points at ``step_deg`` around it (7 pointings);
* ``staring``: every pointing on the target.

Offsets are applied in the tangent plane of the target (east, north). The position angle
drifts slowly (``posangle_drift_deg`` per pointing) from ``posangle_deg``. Pointing numbers
PPPP count pointings in the revolution; slews get their own ScW id (type digit 1) and are
listed but not simulated as imaging data.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..attitude import Pointing
from ..timesys import ScwId, default_table, ijd

__all__ = ["Observation", "PlannedScw", "dither_offsets", "plan_revolution"]

PATTERNS = ("5x5", "hex", "staring")


@dataclass(frozen=True)
class Observation:
    """One observation request: target, pattern, numbers of pointings and metadata."""

    target: str
    ra_deg: float
    dec_deg: float
    pattern: str = "5x5"
    n_pointings: int = 25
    obsid: str = "0000000"
    pi: str = "SkyGallery simulation"
    title: str = ""
    step_deg: float = 2.1
    pointing_s: float = 2000.0
    posangle_deg: float = 0.0

    def __post_init__(self):
        if self.pattern not in PATTERNS:
            raise ValueError(f"pattern: {self.pattern!r} is not one of {', '.join(PATTERNS)}")
        if not 1800.0 <= self.pointing_s <= 3600.0:
            raise ValueError(f"pointing_s: pointings last 1800-3600 s, got {self.pointing_s!r}")
        if self.n_pointings < 1:
            raise ValueError(f"n_pointings: must be >= 1, got {self.n_pointings!r}")
        Pointing(self.ra_deg, self.dec_deg)  # validates ra/dec naming the field


@dataclass(frozen=True)
class PlannedScw:
    """A science window of the plan: id, IJD start/stop, attitude and its observation."""

    scw_id: ScwId
    tstart_ijd: float
    tstop_ijd: float
    pointing: Pointing
    observation: Observation = field(compare=False)

    @property
    def duration_s(self) -> float:
        return (self.tstop_ijd - self.tstart_ijd) * 86400.0


def dither_offsets(pattern: str, step_deg: float) -> list[tuple[float, float]]:
    """(east, north) offsets in degrees of one cycle of the pattern."""
    if pattern == "5x5":
        out = []
        for row, north in enumerate(np.arange(-2, 3) * step_deg):
            easts = np.arange(-2, 3) * step_deg
            out += [(float(e), float(north)) for e in (easts if row % 2 == 0 else easts[::-1])]
        return out
    if pattern == "hex":
        return [(0.0, 0.0)] + [(step_deg * math.cos(math.radians(a)), step_deg * math.sin(math.radians(a)))
                               for a in range(0, 360, 60)]
    if pattern == "staring":
        return [(0.0, 0.0)]
    raise ValueError(f"pattern: {pattern!r} is not one of {', '.join(PATTERNS)}")


def _offset_position(ra, dec, east_deg, north_deg) -> tuple[float, float]:
    """Inverse gnomonic projection of tangent-plane offsets about (ra, dec)."""
    xi, eta = math.radians(east_deg), math.radians(north_deg)
    d0, a0 = math.radians(dec), math.radians(ra)
    den = math.cos(d0) - eta * math.sin(d0)
    a = a0 + math.atan2(xi, den)
    d = math.atan2(math.sin(d0) + eta * math.cos(d0), math.hypot(xi, den))
    return math.degrees(a) % 360.0, math.degrees(d)


def plan_revolution(rev: int, observations: list[Observation], slew_s: float = 120.0,
                    posangle_drift_deg: float = 0.2, table=None) -> list[PlannedScw]:
    """Pointing ScWs of ``rev`` for ``observations`` in order, inside the usable window."""
    table = table or default_table()
    t_exit, t_entry = (ijd(t) for t in table.usable(rev))
    t = t_exit
    scws: list[PlannedScw] = []
    number = 1
    for obs in observations:
        cycle = dither_offsets(obs.pattern, obs.step_deg)
        for k in range(obs.n_pointings):
            stop = t + obs.pointing_s / 86400.0
            if stop > t_entry:
                return scws
            ra, dec = _offset_position(obs.ra_deg, obs.dec_deg, *cycle[k % len(cycle)])
            pa = (obs.posangle_deg + posangle_drift_deg * len(scws)) % 360.0
            scws.append(PlannedScw(ScwId(rev, number, 1, 0, 1), t, stop, Pointing(ra, dec, pa), obs))
            number += 1
            t = stop + slew_s / 86400.0
    return scws
