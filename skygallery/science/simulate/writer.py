"""Writing a simulated archive in the OSA layout.

::

    ROOT/scw/RRRR/RRRRPPPPSSSF.VVV/swg.fits              pointing attitude, times, exposure (EXTNAME GNRL-SCWG-GRP)
    ROOT/scw/RRRR/RRRRPPPPSSSF.VVV/isgri_events.fits.gz  ISGR-EVTS-ALL: TIME (IJD), ISGRI_ENERGY (keV), DETY, DETZ
                                                         + ISGR-PIX-EFF: pixel efficiency map (0 = dead)
    ROOT/scw/RRRR/RRRRPPPPSSSF.VVV/jmx1_events.fits.gz   JMX1-EVTS-ALL (same columns, ENERGY)  [and jmx2]
    ROOT/scw/RRRR/RRRRPPPPSSSF.VVV/truth.fits            one TRUTH-<INSTRUMENT> table per instrument
    ROOT/idx/scw_index.fits                              GNRL-SCWG-IDX: one row per ScW

DETY is the decoding-grid row (y, 0..133 for ISGRI) and DETZ the column (x, 0..129). Event
files are gzip-compressed at level 1 (speed over size).
"""
from __future__ import annotations

import gzip
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from astropy.io import fits

from ..attitude import z_axis
from ..instruments.geometry import CodedMaskInstrument
from ..timesys import from_ijd, isot
from .events import ScwEvents
from .plan import PlannedScw

__all__ = ["EVENT_FILES", "INDEX_PATH", "scw_dir", "write_events", "write_index", "write_swg", "write_truth"]

INDEX_PATH = Path("idx") / "scw_index.fits"
EVENT_FILES = {"ISGR": "isgri_events.fits.gz", "JMX1": "jmx1_events.fits.gz", "JMX2": "jmx2_events.fits.gz"}


def scw_dir(root: str | os.PathLike, planned: PlannedScw) -> Path:
    return Path(root) / "scw" / f"{planned.scw_id.rev:04d}" / str(planned.scw_id)


def _time_keywords(hdr: fits.Header, planned: PlannedScw, deadc: float) -> None:
    hdr["MJDREF"], hdr["TIMESYS"], hdr["TIMEUNIT"] = 51544.0, "TT", "d"
    hdr["TSTART"], hdr["TSTOP"] = (planned.tstart_ijd, "[d] IJD"), (planned.tstop_ijd, "[d] IJD")
    hdr["DATE-OBS"], hdr["DATE-END"] = isot(from_ijd(planned.tstart_ijd), 0), isot(from_ijd(planned.tstop_ijd), 0)
    hdr["TELAPSE"] = (planned.duration_s, "[s]")
    hdr["ONTIME"] = (planned.duration_s, "[s]")
    hdr["DEADC"] = (deadc, "Dead-time correction factor")
    hdr["EXPOSURE"] = (planned.duration_s * deadc, "[s] ONTIME x DEADC")
    hdr["REVOL"] = planned.scw_id.rev
    hdr["SWID"] = str(planned.scw_id).split(".")[0]
    hdr["SW_TYPE"] = "POINTING"


def write_swg(directory: Path, planned: PlannedScw, deadc: float) -> Path:
    p = planned.pointing
    hdr = fits.Header()
    hdr["EXTNAME"] = "GNRL-SCWG-GRP"
    hdr["TELESCOP"] = "INTEGRAL"
    _time_keywords(hdr, planned, deadc)
    hdr["SWBOUND"] = "SIMULATED"
    hdr["RA_SCX"], hdr["DEC_SCX"] = (p.ra_deg, "[deg] pointing X axis"), (p.dec_deg, "[deg] pointing X axis")
    ra_z, dec_z = z_axis(p)
    hdr["RA_SCZ"], hdr["DEC_SCZ"] = (ra_z, "[deg] Z axis"), (dec_z, "[deg] Z axis")
    hdr["POSANGLE"] = (p.posangle_deg, "[deg] position angle of Z, east of north")
    obs = planned.observation
    hdr["OBS_ID"], hdr["EXPID"] = obs.obsid, f"{obs.obsid}{planned.scw_id.pointing:04d}"
    hdr["PI_NAME"], hdr["TITLE"], hdr["OBJECT"] = obs.pi, obs.title[:68], obs.target
    hdr["SW_VER"] = planned.scw_id.version
    path = directory / "swg.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(
        [fits.Column("SWID", "12A", array=[hdr["SWID"]])], header=hdr)]).writeto(path, overwrite=True)
    return path


def write_events(directory: Path, planned: PlannedScw, inst: CodedMaskInstrument, ev: ScwEvents,
                 deadc: float) -> Path:
    prefix = inst.extname_prefix
    energy_col = "ISGRI_ENERGY" if prefix == "ISGR" else "ENERGY"
    cols = [fits.Column("TIME", "D", unit="d", array=ev.time_ijd),
            fits.Column(energy_col, "E", unit="keV", array=ev.energy_kev),
            fits.Column("DETY", "I", array=ev.det_y), fits.Column("DETZ", "I", array=ev.det_x)]
    table = fits.BinTableHDU.from_columns(cols, name=f"{prefix}-EVTS-ALL")
    _time_keywords(table.header, planned, deadc)
    table.header["INSTRUME"] = inst.name
    eff = fits.ImageHDU(inst.efficiency.astype(np.float32), name=f"{prefix}-PIX-EFF")
    path = directory / EVENT_FILES[prefix]
    with gzip.open(path, "wb", compresslevel=1) as fh:
        fits.HDUList([fits.PrimaryHDU(), table, eff]).writeto(fh)
    return path


def write_truth(directory: Path, truths: dict[str, list[dict]]) -> Path:
    hdus = [fits.PrimaryHDU()]
    for instrument, rows in truths.items():
        keys = list(rows[0]) if rows else ["NAME", "RA", "DEC", "RATE_TOT", "COUNTS"]
        cols = []
        for key in keys:
            values = [r[key] for r in rows]
            fmt = "32A" if key == "NAME" else ("K" if key == "COUNTS" else "D")
            cols.append(fits.Column(key, fmt, array=np.array(values) if values else np.array([], dtype=float)))
        hdus.append(fits.BinTableHDU.from_columns(cols, name=f"TRUTH-{instrument}"))
    path = directory / "truth.fits"
    fits.HDUList(hdus).writeto(path, overwrite=True)
    return path


def write_index(root: str | os.PathLike, planned: Sequence[PlannedScw]) -> Path:
    """The archive index: SWID (with version), times, pointing, type, obsid, relative path."""
    rows = sorted(planned, key=lambda s: s.tstart_ijd)
    cols = [fits.Column("SWID", "16A", array=[str(s.scw_id) for s in rows]),
            fits.Column("TSTART", "D", unit="d", array=[s.tstart_ijd for s in rows]),
            fits.Column("TSTOP", "D", unit="d", array=[s.tstop_ijd for s in rows]),
            fits.Column("RA_SCX", "D", unit="deg", array=[s.pointing.ra_deg for s in rows]),
            fits.Column("DEC_SCX", "D", unit="deg", array=[s.pointing.dec_deg for s in rows]),
            fits.Column("POSANGLE", "D", unit="deg", array=[s.pointing.posangle_deg for s in rows]),
            fits.Column("SW_TYPE", "8A", array=["POINTING"] * len(rows)),
            fits.Column("OBS_ID", "16A", array=[s.observation.obsid for s in rows]),
            fits.Column("OBJECT", "32A", array=[s.observation.target for s in rows]),
            fits.Column("PATH", "64A", array=[str(scw_dir("", s)) for s in rows])]
    path = Path(root) / INDEX_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(cols, name="GNRL-SCWG-IDX")]).writeto(
        path, overwrite=True)
    return path
