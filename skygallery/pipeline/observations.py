"""From a revolution's pointing ScWs to observation groups with their metadata.

Selection (:func:`select_revolution`): the archive's pointing ScWs of revolution ``rev`` in one
data version — NRT (ScW version 000) or CONS (001 and above) — optionally restricted to a list of
ScW ids (with or without version). Grouping (:func:`group_observations`): by OBS_ID, as
:meth:`skygallery.archive.layout.Archive.group_observations`; the metadata of a group comes from
the ``swg.fits`` header of its first ScW (OBJECT → target, PI_NAME, TITLE → proposal title,
EXPID), its position is the normalised mean of the pointing axes (the dither centre) and its times
the first TSTART and the last TSTOP (IJD).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .folders import slug

__all__ = ["ObservationGroup", "group_observations", "select_revolution"]


@dataclass
class ObservationGroup:
    """The ScWs of one observation in one revolution (times IJD, angles deg)."""

    rev: int
    obsid: str
    expid: str
    target: str
    pi: str
    proposal: str
    ra_deg: float
    dec_deg: float
    records: list = field(default_factory=list)

    @property
    def title(self) -> str:
        """The gallery observation title, as MMODA's ``<target> Rev. <rev>``."""
        return f"{self.target} Rev. {self.rev}"

    @property
    def key(self) -> str:
        """Short stable key for product ids: the obsid, else the target."""
        return slug(self.obsid) if self.obsid else slug(self.target)

    @property
    def t1_ijd(self) -> float:
        return min(r.tstart_ijd for r in self.records)

    @property
    def t2_ijd(self) -> float:
        return max(r.tstop_ijd for r in self.records)

    @property
    def scw_ids(self) -> list[str]:
        return [str(r.scw_id) for r in self.records]


def select_revolution(archive, rev: int, data_version: str, scw_list: Sequence[str] = ()) -> list:
    """Pointing ScWs of ``rev`` in ``data_version`` (module docstring); ValueError naming the field."""
    dv = str(data_version).upper()
    if dv not in ("NRT", "CONS"):
        raise ValueError(f"data_version: must be NRT or CONS, got {data_version!r}")
    if not 1 <= int(rev) <= 9999:
        raise ValueError(f"rev: revolution numbers are 1..9999, got {rev!r}")
    records = [r for r in archive.select(version=dv, scw_ids=list(scw_list) or None) if r.scw_id.rev == int(rev)]
    if not records:
        what = f" among the {len(scw_list)} listed ScWs" if scw_list else ""
        raise ValueError(f"rev: no {dv} pointing ScW of revolution {rev}{what} in the archive {archive.root}")
    return records


def _header(path: Path) -> dict:
    from astropy.io import fits
    try:
        with fits.open(Path(path) / "swg.fits") as hdul:
            h = next((x.header for x in hdul if "RA_SCX" in x.header), None)
            return {} if h is None else {k: str(h.get(k, "")).strip() for k in ("OBJECT", "PI_NAME", "TITLE", "EXPID")}
    except OSError:
        return {}


def _mean_position(records) -> tuple[float, float]:
    ra, dec = np.radians([r.ra_deg for r in records]), np.radians([r.dec_deg for r in records])
    v = np.array([np.cos(dec) * np.cos(ra), np.cos(dec) * np.sin(ra), np.sin(dec)]).sum(axis=1)
    v /= np.linalg.norm(v)
    return float(math.degrees(math.atan2(v[1], v[0])) % 360.0), float(math.degrees(math.asin(v[2])))


def group_observations(records, rev: int) -> list[ObservationGroup]:
    """Observation groups in time order (module docstring)."""
    from skygallery.archive.layout import Archive
    groups = []
    for obsid, recs in Archive.group_observations(list(records)).items():
        h = _header(recs[0].path)
        ra, dec = _mean_position(recs)
        target = h.get("OBJECT") or (f"obs {obsid}" if obsid else f"field {ra:.1f}{dec:+.1f}")
        groups.append(ObservationGroup(int(rev), obsid, h.get("EXPID", ""), target, h.get("PI_NAME", ""),
                                       h.get("TITLE", ""), ra, dec, recs))
    groups.sort(key=lambda g: g.t1_ijd)
    titles = [g.title for g in groups]
    for g in groups:   # two observations of one target in a revolution: tell them apart by obsid
        if titles.count(g.title) > 1 and g.obsid:
            g.target = f"{g.target} ({g.obsid})"
    return groups
