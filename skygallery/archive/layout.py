"""Open an archive in the OSA layout (simulated or real) and select science windows.

Layout: ``ROOT/scw/RRRR/RRRRPPPPSSSF.VVV/swg.fits`` (+ instrument files). ScWs come from the
index ``ROOT/idx/scw_index.fits`` when present, else from scanning the ``swg.fits`` files
(a real OSA archive's swg headers carry the same keywords: TSTART, TSTOP, RA_SCX, DEC_SCX,
POSANGLE, SW_TYPE, OBS_ID).

Selection (:meth:`Archive.select`), in this order:

1. type: pointings only (slews are not imaged);
2. time: ScWs overlapping [t1, t2] (anything :func:`~skygallery.science.timesys.parse_time` reads);
3. position: pointing axis within ``radius_deg`` of (ra, dec);
4. version: per 12-digit ScW id keep CONS (highest version ≥ 001) when present, else NRT (000)
   — or only the requested ``version`` ("CONS"/"NRT");
5. ``max_pointings``: the N closest to the position (all ties broken by start time, then id),
   or the first N in time without a position; the result is always sorted by start time.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from astropy.io import fits

from skygallery.science.sphere import separation_deg
from skygallery.science.timesys import ScwId, ijd, parse_time

__all__ = ["Archive", "ScwRecord", "open_archive"]

INDEX_PATH = Path("idx") / "scw_index.fits"


@dataclass(frozen=True)
class ScwRecord:
    """One science window of an archive (times IJD, angles deg)."""

    scw_id: ScwId
    tstart_ijd: float
    tstop_ijd: float
    ra_deg: float
    dec_deg: float
    posangle_deg: float
    sw_type: str
    obsid: str
    path: Path


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value).strip()


def _from_index(root: Path) -> list[ScwRecord]:
    with fits.open(root / INDEX_PATH) as hdul:
        data = hdul["GNRL-SCWG-IDX"].data
        return [ScwRecord(ScwId.parse(_text(r["SWID"])), float(r["TSTART"]), float(r["TSTOP"]), float(r["RA_SCX"]),
                          float(r["DEC_SCX"]), float(r["POSANGLE"]), _text(r["SW_TYPE"]), _text(r["OBS_ID"]),
                          root / _text(r["PATH"])) for r in data]


def _from_scan(root: Path) -> list[ScwRecord]:
    out = []
    for swg in sorted(root.glob("scw/[0-9][0-9][0-9][0-9]/*/swg.fits*")):
        try:
            scw_id = ScwId.parse(swg.parent.name)
            with fits.open(swg) as hdul:
                h = next((x.header for x in hdul if "RA_SCX" in x.header), None)
        except (OSError, ValueError) as exc:
            raise ValueError(f"{swg}: unreadable ScW ({exc})") from None
        if h is None:
            raise ValueError(f"{swg}: RA_SCX: no pointing keywords in swg.fits")
        out.append(ScwRecord(scw_id, float(h["TSTART"]), float(h["TSTOP"]), float(h["RA_SCX"]), float(h["DEC_SCX"]),
                             float(h.get("POSANGLE", 0.0)), str(h.get("SW_TYPE", "POINTING")).strip(),
                             str(h.get("OBS_ID", "")).strip(), swg.parent))
    return out


class Archive:
    """The science windows of one archive root."""

    def __init__(self, root: Path, records: list[ScwRecord]):
        self.root = root
        self.records = sorted(records, key=lambda r: (r.tstart_ijd, str(r.scw_id)))

    def __len__(self) -> int:
        return len(self.records)

    def select(self, t1=None, t2=None, ra_deg: float | None = None, dec_deg: float | None = None,
               radius_deg: float = 10.0, version: str | None = None, max_pointings: int | None = None,
               scw_ids: list[str] | None = None) -> list[ScwRecord]:
        """ScWs by the rules of the module docstring."""
        recs = [r for r in self.records if r.sw_type.upper().startswith("POINT") and r.scw_id.is_pointing]
        if scw_ids:
            wanted = {s.strip() for s in scw_ids}
            recs = [r for r in recs if str(r.scw_id) in wanted or str(r.scw_id).split(".")[0] in wanted]
        if t1 is not None or t2 is not None:
            lo = ijd(parse_time(t1)) if t1 is not None else -math.inf
            hi = ijd(parse_time(t2)) if t2 is not None else math.inf
            if lo > hi:
                raise ValueError(f"t1: start {t1!r} is after end {t2!r}")
            recs = [r for r in recs if r.tstop_ijd >= lo and r.tstart_ijd <= hi]
        sep = {}
        if ra_deg is not None or dec_deg is not None:
            _check_position(ra_deg, dec_deg, radius_deg)
            sep = {id(r): float(separation_deg(ra_deg, dec_deg, r.ra_deg, r.dec_deg)) for r in recs}
            recs = [r for r in recs if sep[id(r)] <= radius_deg]
        recs = _pick_versions(recs, version)
        if max_pointings is not None:
            if max_pointings < 1:
                raise ValueError(f"max_pointings: must be >= 1, got {max_pointings!r}")
            key = (lambda r: (sep[id(r)], r.tstart_ijd, str(r.scw_id))) if sep else \
                (lambda r: (r.tstart_ijd, str(r.scw_id)))
            recs = sorted(recs, key=key)[:max_pointings]
        return sorted(recs, key=lambda r: (r.tstart_ijd, str(r.scw_id)))

    @staticmethod
    def group_observations(records: list[ScwRecord]) -> dict[str, list[ScwRecord]]:
        """ScWs grouped by OBS_ID (empty ids grouped under ``""``), each group in time order."""
        groups: dict[str, list[ScwRecord]] = {}
        for r in sorted(records, key=lambda r: r.tstart_ijd):
            groups.setdefault(r.obsid, []).append(r)
        return groups


def _check_position(ra, dec, radius):
    if ra is None or dec is None:
        raise ValueError("ra/dec: give both for a position selection")
    if not (math.isfinite(ra) and 0 <= ra < 360):
        raise ValueError(f"ra: must be in [0, 360) deg, got {ra!r}")
    if not (math.isfinite(dec) and -90 <= dec <= 90):
        raise ValueError(f"dec: must be in [-90, 90] deg, got {dec!r}")
    if not (math.isfinite(radius) and 0 < radius <= 180):
        raise ValueError(f"radius: must be in (0, 180] deg, got {radius!r}")


def _pick_versions(recs: list[ScwRecord], version: str | None) -> list[ScwRecord]:
    if version is not None:
        v = version.upper()
        if v not in ("CONS", "NRT"):
            raise ValueError(f"version: must be CONS or NRT, got {version!r}")
        return [r for r in recs if r.scw_id.data_version == v]
    best: dict[str, ScwRecord] = {}
    for r in recs:
        base = str(r.scw_id).split(".")[0]
        cur = best.get(base)
        if cur is None or (r.scw_id.version or 0) > (cur.scw_id.version or 0):
            best[base] = r
    return list(best.values())


def open_archive(root: str | os.PathLike) -> Archive:
    """The archive at ``root`` (index file if present, else a scan of ``scw/``)."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"archive: {root} is not a directory")
    records = _from_index(root) if (root / INDEX_PATH).is_file() else _from_scan(root)
    return Archive(root, records)
