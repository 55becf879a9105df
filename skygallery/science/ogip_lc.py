"""OGIP light-curve files (OGIP/93-003 RATE tables): write ours, read ours and OSA/other missions'.

Written file::

    PRIMARY   TELESCOP, INSTRUME, OBJECT, CREATOR, DATE
    RATE      TIME (d, IJD at the bin centre), TIMEDEL (d), RATE, ERROR (count/s), FRACEXP,
              BACKV (count/s, detector background rate in the band; NaN when unknown), SWID
    GTI       START, STOP (d, IJD): the covered intervals (touching bins merged)

RATE keywords: HDUCLASS 'OGIP', HDUCLAS1 'LIGHTCURVE', HDUCLAS2 'NET' (the rates are
background-subtracted shadowgram-fit amplitudes), HDUCLAS3 'RATE', TIMVERS 'OGIP/93-003',
MJDREF 51544 (MJDREFI/MJDREFF too), TIMESYS 'TT', TIMEUNIT 'd', TIMEREF 'LOCAL', TASSIGN
'SATELLITE', TIMEZERO 0, TIMEPIXR 0.5 (TIME marks the bin centre), TSTART/TSTOP (IJD), TELAPSE
and EXPOSURE (s), DATE-OBS/DATE-END (UTC), E_MIN/E_MAX (keV), OBJECT, RA_OBJ/DEC_OBJ,
BACKAPP/DEADAPP/VIGNAPP, and TIMEDEL (d) as a keyword too when every bin has the same width.

Reading (:func:`read_lightcurve`) accepts any OGIP-style table with TIME and RATE columns: the
``RATE`` extension, OSA ``*-LCR`` extensions (e.g. ``JMX1-SRC.-LCR``), or the one named by
``extname``. Times become IJD via MJDREF (or MJDREFI + MJDREFF), TIMEZERO, TIMEUNIT / the TIME
column unit (d or s) and TIMEPIXR (OGIP default 0 = bin start when absent); TIMEDEL comes from
the column, else the keyword, else the spacing of the times. ERROR is required; FRACEXP
defaults to 1; BACKV falls back to OSA's BRATE. Only TIMESYS TT is accepted (the INTEGRAL
convention) — anything else is refused rather than silently shifted.
"""
from __future__ import annotations

import math
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from astropy.io import fits

from .lightcurves import DAY_S, LightCurve
from .timesys import from_ijd, isot

__all__ = ["IJD_MJDREF", "gti_intervals", "read_lightcurve", "write_lightcurve"]

IJD_MJDREF = 51544.0
_PLACEHOLDERS = {"", "STRING", "REAL", "INTEGER", "NONE"}
_INSTRUME = {"ISGR": "IBIS", "JMX1": "JMX1", "JMX2": "JMX2"}


def gti_intervals(lc: LightCurve, tolerance_s: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Covered intervals (IJD start, stop): bins merged where they touch or overlap."""
    if len(lc) == 0:
        return np.zeros(0), np.zeros(0)
    order = np.argsort(lc.tstart_ijd)
    starts, stops = lc.tstart_ijd[order], lc.tstop_ijd[order]
    out_start, out_stop = [starts[0]], [stops[0]]
    for a, b in zip(starts[1:], stops[1:]):
        if a <= out_stop[-1] + tolerance_s / DAY_S:
            out_stop[-1] = max(out_stop[-1], b)
        else:
            out_start.append(a)
            out_stop.append(b)
    return np.array(out_start), np.array(out_stop)


def _time_keywords(h: fits.Header, lc: LightCurve) -> None:
    h["MJDREF"] = (IJD_MJDREF, "[d] MJD(TT) of IJD 0")
    h["MJDREFI"], h["MJDREFF"] = (51544, "[d] integer part of MJDREF"), (0.0, "[d] fractional part of MJDREF")
    h["TIMESYS"], h["TIMEUNIT"] = ("TT", "Time system"), ("d", "Unit of TIME, TSTART, TSTOP, TIMEDEL")
    h["TIMEREF"], h["TASSIGN"] = ("LOCAL", "Times at the spacecraft"), ("SATELLITE", "Time assigned by")
    h["TIMEZERO"] = (0.0, "[d] Offset added to TIME")
    h["TIMEPIXR"] = (0.5, "TIME marks the bin centre")
    h["CLOCKAPP"] = (True, "Clock corrections applied")
    if len(lc):
        t0, t1 = float(lc.tstart_ijd.min()), float(lc.tstop_ijd.max())
        h["TSTART"], h["TSTOP"] = (t0, "[d] IJD start of the first bin"), (t1, "[d] IJD stop of the last bin")
        h["TELAPSE"] = ((t1 - t0) * DAY_S, "[s] TSTOP - TSTART")
        h["EXPOSURE"] = (float(np.sum(lc.exposure_s)), "[s] dead-time corrected exposure")
        h["DATE-OBS"], h["DATE-END"] = isot(from_ijd(t0), 3), isot(from_ijd(t1), 3)
        widths = lc.timedel_s
        if np.allclose(widths, widths[0], rtol=0, atol=1e-6):
            h["TIMEDEL"] = (float(widths[0]) / DAY_S, "[d] bin width")


def _source_keywords(h: fits.Header, lc: LightCurve) -> None:
    h["TELESCOP"] = ("INTEGRAL", "Mission")
    h["INSTRUME"] = (_INSTRUME.get(lc.instrument, lc.instrument or "UNKNOWN"), "Instrument")
    if lc.instrument == "ISGR":
        h["DETNAM"] = ("ISGRI", "Detector")
    h["OBJECT"] = (lc.source or "UNKNOWN", "Source name")
    if math.isfinite(lc.ra_deg) and math.isfinite(lc.dec_deg):
        h["RA_OBJ"], h["DEC_OBJ"] = (lc.ra_deg, "[deg] source RA"), (lc.dec_deg, "[deg] source Dec")
        h["RADECSYS"], h["EQUINOX"] = "FK5", 2000.0
    if math.isfinite(lc.e_min_kev):
        h["E_MIN"], h["E_MAX"] = (lc.e_min_kev, "[keV] lower energy"), (lc.e_max_kev, "[keV] upper energy")
        h["EUNIT"] = "keV"


def _rate_hdu(lc: LightCurve) -> fits.BinTableHDU:
    cols = [fits.Column("TIME", "D", unit="d", array=lc.time_ijd),
            fits.Column("TIMEDEL", "D", unit="d", array=lc.timedel_s / DAY_S),
            fits.Column("RATE", "E", unit="count/s", array=lc.rate),
            fits.Column("ERROR", "E", unit="count/s", array=lc.error),
            fits.Column("FRACEXP", "E", array=lc.fracexp),
            fits.Column("BACKV", "E", unit="count/s", array=lc.backv),
            fits.Column("SWID", "16A", array=lc.swid)]
    hdu = fits.BinTableHDU.from_columns(cols, name="RATE")
    h = hdu.header
    h["HDUCLASS"], h["HDUCLAS1"] = ("OGIP", "Format conforms to OGIP standard"), ("LIGHTCURVE", "Light curve")
    h["HDUCLAS2"], h["HDUCLAS3"] = ("NET", "Background-subtracted"), ("RATE", "Rates, not counts")
    h["HDUVERS"], h["TIMVERS"] = "1.1.0", ("OGIP/93-003", "OGIP memo for the format")
    _source_keywords(h, lc)
    _time_keywords(h, lc)
    h["BACKAPP"], h["DEADAPP"], h["VIGNAPP"] = (True, "Background subtracted"), (True, "Dead time corrected"), \
        (True, "Coding corrected: on-axis equivalent")
    h["CREATOR"] = ("SkyGallery", "Program that wrote the file")
    for key, value in lc.meta.items():
        h[str(key)[:8].upper()] = value
    return hdu


def _gti_hdu(lc: LightCurve) -> fits.BinTableHDU:
    start, stop = gti_intervals(lc)
    hdu = fits.BinTableHDU.from_columns([fits.Column("START", "D", unit="d", array=start),
                                         fits.Column("STOP", "D", unit="d", array=stop)], name="GTI")
    h = hdu.header
    h["HDUCLASS"], h["HDUCLAS1"], h["HDUCLAS2"] = "OGIP", "GTI", "STANDARD"
    _time_keywords(h, lc)
    return hdu


def write_lightcurve(path: str | os.PathLike, lc: LightCurve, overwrite: bool = True) -> Path:
    """Write ``lc`` as an OGIP light curve (module docstring); ``.gz`` names are compressed."""
    primary = fits.PrimaryHDU()
    _source_keywords(primary.header, lc)
    primary.header["CREATOR"] = "SkyGallery"
    primary.header["DATE"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    path = Path(path)
    fits.HDUList([primary, _rate_hdu(lc), _gti_hdu(lc)]).writeto(path, overwrite=overwrite)
    return path


# ----------------------------------------------------------------------------------------- reading
def _find_table(hdul: fits.HDUList, extname: str | None, path: Path):
    if extname is not None:
        if extname not in hdul:
            raise ValueError(f"{path}: extname: no extension {extname!r}")
        return hdul[extname]
    tables = [h for h in hdul[1:] if isinstance(h, fits.BinTableHDU)
              and {"TIME", "RATE"} <= {c.upper() for c in h.columns.names}]
    for pick in (lambda h: h.name == "RATE", lambda h: h.name.endswith("-LCR"), lambda h: True):
        for h in tables:
            if pick(h):
                return h
    raise ValueError(f"{path}: RATE: no table with TIME and RATE columns")


def _mjdref(h: fits.Header, path: Path) -> float:
    if "MJDREF" in h:
        return float(h["MJDREF"])
    if "MJDREFI" in h:
        return float(h["MJDREFI"]) + float(h.get("MJDREFF", 0.0))
    raise ValueError(f"{path}: MJDREF: missing (neither MJDREF nor MJDREFI)")


def _unit_days(h: fits.Header, col_unit: str | None, path: Path) -> float:
    unit = (col_unit or h.get("TIMEUNIT", "s") or "s").strip().lower()
    if unit in ("d", "day", "days"):
        return 1.0
    if unit in ("s", "sec", "second", "seconds"):
        return 1.0 / DAY_S
    raise ValueError(f"{path}: TIMEUNIT: unsupported time unit {unit!r} (d or s)")


def _text_keyword(h: fits.Header, *keys: str) -> str:
    for key in keys:
        value = str(h.get(key, "")).strip()
        if value.upper() not in _PLACEHOLDERS:
            return value
    return ""


def _float_keyword(h: fits.Header, key: str) -> float:
    try:
        return float(h[key])
    except (KeyError, TypeError, ValueError):
        return math.nan


def _times(table, h: fits.Header, path: Path):
    timesys = str(h.get("TIMESYS", "TT")).strip().upper()
    if timesys != "TT":
        raise ValueError(f"{path}: TIMESYS: {timesys!r} is not supported (INTEGRAL products are TT)")
    data = table.data
    col = table.columns["TIME"]
    scale = _unit_days(h, col.unit, path)
    offset_d = _mjdref(h, path) - IJD_MJDREF + float(h.get("TIMEZERO", 0.0)) * scale
    time = np.asarray(data["TIME"], float) * scale + offset_d
    names = [c.upper() for c in table.columns.names]
    if "TIMEDEL" in names:
        tcol = table.columns["TIMEDEL"]
        width_d = np.asarray(data["TIMEDEL"], float) * _unit_days(h, tcol.unit, path)
    elif "TIMEDEL" in h:
        width_d = np.full(time.size, float(h["TIMEDEL"]) * scale)
    elif time.size > 1:
        width_d = np.full(time.size, float(np.median(np.diff(np.sort(time)))))
    else:
        raise ValueError(f"{path}: TIMEDEL: no column or keyword, and a single bin")
    pixr = float(h.get("TIMEPIXR", 0.0))
    return time + (0.5 - pixr) * width_d, width_d * DAY_S


def read_lightcurve(path: str | os.PathLike, extname: str | None = None) -> LightCurve:
    """Read an OGIP/OSA light curve (module docstring) into a :class:`LightCurve` (TIME → IJD)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        with fits.open(path) as hdul:
            table = _find_table(hdul, extname, path)
            h, data = table.header, table.data
            names = [c.upper() for c in table.columns.names]
            if "ERROR" not in names:
                raise ValueError(f"{path}: ERROR: column missing")
            time, width_s = _times(table, h, path)
            n = time.size
            fracexp = np.asarray(data["FRACEXP"], float) if "FRACEXP" in names else np.ones(n)
            back_col = next((c for c in ("BACKV", "BRATE") if c in names), None)
            backv = np.asarray(data[back_col], float) if back_col else np.full(n, np.nan)
            swid = np.char.strip(np.asarray(data["SWID"]).astype("U16")) if "SWID" in names else None
            lc = LightCurve(time, width_s, np.asarray(data["RATE"], float), np.asarray(data["ERROR"], float),
                            np.clip(np.nan_to_num(fracexp, nan=0.0), 0.0, 1.0), backv,
                            source=_text_keyword(h, "OBJECT", "NAME", "SOURCEID"),
                            instrument=_text_keyword(h, "INSTRUME"),
                            e_min_kev=_float_keyword(h, "E_MIN"), e_max_kev=_float_keyword(h, "E_MAX"),
                            ra_deg=_float_keyword(h, "RA_OBJ"), dec_deg=_float_keyword(h, "DEC_OBJ"), swid=swid)
    except OSError as exc:
        raise ValueError(f"{path}: not a readable FITS file ({exc})") from None
    except KeyError as exc:
        raise ValueError(f"{path}: {exc.args[0]}: missing column or keyword") from None
    if lc.instrument == "IBIS":
        lc.instrument = "ISGR"
    return lc
