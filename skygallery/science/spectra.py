"""Source spectra: combining per-ScW rates and OGIP PHA files (type I and type II).

Combination across ScWs (per source and energy bin, ScWs where the source was fitted): the
variance-weighted mean R = Σ(R_s/σ_s²)/Σ(1/σ_s²), σ = (Σ 1/σ_s²)^(−1/2), exposure = Σ exposure_s.
Rates are counts/s "as if on-axis" (:mod:`.fit_shadowgram`), so the matching ARF/RMF are the on-axis
response (:mod:`.responses`).

PHA type I (OGIP/92-007): table ``SPECTRUM`` with CHANNEL, RATE, STAT_ERR (counts/s, 1σ), SYS_ERR
(fractional systematic error, ``sys_fraction``), QUALITY (0 good, 1 no data), GROUPING (1 = start
of a bin); keywords HDUCLASS OGIP, HDUCLAS1 SPECTRUM, HDUCLAS2 NET, HDUCLAS3 RATE, HDUVERS 1.2.1,
POISSERR F, EXPOSURE, RESPFILE, ANCRFILE, BACKFILE/CORRFILE NONE, AREASCAL, BACKSCAL, CORRSCAL,
CHANTYPE, DETCHANS, TLMIN1/TLMAX1, the times (TSTART/TSTOP IJD, MJDREF, TIMESYS TT), OBJECT,
RA_OBJ/DEC_OBJ and the Crab reference rate (CRABRATE, counts/s in CRAB_E1–CRAB_E2 keV) when given.
PHA type II: one row per spectrum (HDUCLAS4 'TYPE:II') with vector columns and per-row EXPOSURE,
OBJECT, RA_OBJ, DEC_OBJ, RESPFILE, ANCRFILE. Any OGIP PHA I is read (COUNTS or RATE, errors or
Poisson); a file read and written back keeps its keywords, column order and formats.
"""
from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits

from .ogip import TableColumn, find_hdu, merge_header, open_fits, table_hdu, text

__all__ = ["CombinedRates", "Pha", "combine_scw_rates", "read_pha", "read_pha2", "spectrum_from_rates",
           "write_pha", "write_pha2"]

_SPECTRUM = (("SPECTRUM",), ("SPECTRUM",))


@dataclass
class CombinedRates:
    """Variance-weighted rates over ScWs: arrays (n_bands, n_src) counts/s; per source exposure (s)."""

    names: list[str]
    bands_kev: list[tuple[float, float]]
    rate: np.ndarray
    rate_err: np.ndarray
    exposure_s: np.ndarray
    n_scw: np.ndarray
    t_start_ijd: float
    t_stop_ijd: float
    swids: list[str] = field(default_factory=list)


def combine_scw_rates(scw_rates: Sequence) -> CombinedRates:
    """Combine :class:`~.extract.ScwRates` of several ScWs (same sources and bands, no time bins)."""
    if not scw_rates:
        raise ValueError("scws: no ScW rates to combine")
    first = scw_rates[0]
    for r in scw_rates:
        if list(r.names) != list(first.names) or [tuple(b) for b in r.bands_kev] != [tuple(b) for b in first.bands_kev]:
            raise ValueError(f"scws: {r.swid} has other sources or bands than {first.swid}")
        if np.ndim(r.rate) != 2:
            raise ValueError(f"scws: {r.swid} has time bins; combine the per-ScW rates")
    rate = np.array([r.rate for r in scw_rates])            # (n_scw, n_bands, n_src)
    err = np.array([r.rate_err for r in scw_rates])
    ok = np.isfinite(rate) & np.isfinite(err) & (err > 0)
    w = np.where(ok, 1.0 / np.where(ok, err, 1.0) ** 2, 0.0)
    wsum = w.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(wsum > 0, (w * np.where(ok, rate, 0.0)).sum(axis=0) / wsum, np.nan)
        sigma = np.where(wsum > 0, 1.0 / np.sqrt(wsum), np.nan)
    used = ok.any(axis=1)                                   # (n_scw, n_src)
    exposure = np.array([r.exposure_s for r in scw_rates])
    return CombinedRates(list(first.names), [tuple(b) for b in first.bands_kev], mean, sigma,
                         (used * exposure[:, None]).sum(axis=0), used.sum(axis=0),
                         float(np.nanmin([r.t_start_ijd for r in scw_rates])),
                         float(np.nanmax([r.t_stop_ijd for r in scw_rates])), [r.swid for r in scw_rates])


@dataclass
class Pha:
    """An OGIP spectrum. ``rate``/``stat_err`` in counts/s; ``counts`` when the file holds COUNTS."""

    channel: np.ndarray
    rate: np.ndarray
    stat_err: np.ndarray | None           # None: Poisson errors (POISSERR = T)
    sys_err: np.ndarray                   # fractional
    quality: np.ndarray
    grouping: np.ndarray
    exposure: float
    counts: np.ndarray | None = None
    respfile: str = "NONE"
    ancrfile: str = "NONE"
    backfile: str = "NONE"
    header: fits.Header = field(default_factory=fits.Header)
    primary_header: fits.Header = field(default_factory=fits.Header)
    columns: list = field(default_factory=list)   # [(name, format, unit)] as read, in file order
    path: Path | None = None

    @property
    def poisson(self) -> bool:
        return self.counts is not None and self.stat_err is None

    def response_paths(self) -> tuple[Path | None, Path | None]:
        """RESPFILE and ANCRFILE resolved relative to the spectrum's folder (None when NONE/empty)."""
        base = self.path.parent if self.path else Path(".")
        out = []
        for name in (self.respfile, self.ancrfile):
            clean = (name or "").split("[")[0].strip()
            out.append(None if clean.upper() in ("", "NONE") else (base / clean))
        return out[0], out[1]


def _column(data, name, default=None):
    return np.asarray(data[name]) if name in data.columns.names else default


def _pha_from_table(data, header: fits.Header, row: int | None, path) -> Pha:
    """One spectrum from a type I table (row None) or a type II row."""
    pick = (lambda v: v) if row is None else (lambda v: v[row])

    def col(name, default=None):
        arr = _column(data, name)
        return default if arr is None else np.asarray(pick(arr))

    def key(name, default):
        arr = _column(data, name)
        if arr is not None and row is not None:
            return text(arr[row])
        return header.get(name, default)

    channel = col("CHANNEL")
    if channel is None:
        raise ValueError(f"pha: {path}: CHANNEL column missing")
    channel = np.asarray(channel, int)
    n = channel.size
    exposure = float(key("EXPOSURE", 0.0))
    if not exposure > 0:
        raise ValueError(f"pha: {path}: EXPOSURE must be > 0 s, got {exposure!r}")
    counts = col("COUNTS")
    rate = col("RATE")
    if rate is None and counts is None:
        raise ValueError(f"pha: {path}: neither RATE nor COUNTS column")
    stat = col("STAT_ERR")
    poisson = bool(header.get("POISSERR", stat is None))
    if rate is None:
        rate = np.asarray(counts, float) / exposure
        stat = None if (poisson or stat is None) else np.asarray(stat, float) / exposure
    sys_err = col("SYS_ERR", None)
    sys_err = np.zeros(n) if sys_err is None else np.broadcast_to(np.asarray(sys_err, float), (n,)).copy()
    quality = col("QUALITY", None)
    quality = np.zeros(n, int) if quality is None else np.broadcast_to(np.asarray(quality, int), (n,)).copy()
    grouping = col("GROUPING", None)
    grouping = np.ones(n, int) if grouping is None else np.broadcast_to(np.asarray(grouping, int), (n,)).copy()
    if stat is None and not poisson:
        raise ValueError(f"pha: {path}: STAT_ERR missing and POISSERR is not T")
    return Pha(channel, np.asarray(rate, float), None if stat is None else np.asarray(stat, float), sys_err,
               quality, grouping, exposure, None if counts is None else np.asarray(counts, float),
               str(key("RESPFILE", "NONE")).strip(), str(key("ANCRFILE", "NONE")).strip(),
               str(key("BACKFILE", "NONE")).strip(), header.copy(), fits.Header(),
               [(c.name, c.format, c.unit) for c in data.columns], Path(path) if path else None)


def _is_type2(hdu) -> bool:
    h = hdu.header
    if "TYPE:II" in text(h.get("HDUCLAS4", "")).upper():
        return True
    return "CHANNEL" in hdu.columns.names and np.ndim(hdu.data["CHANNEL"]) == 2


def read_pha(path: str | os.PathLike, row: int | str | None = None) -> Pha:
    """An OGIP PHA type I spectrum — or one row (index or OBJECT name) of a type II file."""
    with open_fits(path, "pha") as hdul:
        hdu = find_hdu(hdul, *_SPECTRUM, "pha", path)
        if _is_type2(hdu):
            idx = _row_index(hdu.data, row, path)
            pha = _pha_from_table(hdu.data, hdu.header, idx, path)
        else:
            if row not in (None, 0):
                raise ValueError(f"row: {path} is a type I spectrum (one row)")
            pha = _pha_from_table(hdu.data, hdu.header, None, path)
        pha.primary_header = hdul[0].header.copy()
    return pha


def read_pha2(path: str | os.PathLike) -> list[Pha]:
    """Every spectrum of a PHA type II file (a type I file gives a list of one)."""
    with open_fits(path, "pha") as hdul:
        hdu = find_hdu(hdul, *_SPECTRUM, "pha", path)
        if not _is_type2(hdu):
            return [read_pha(path)]
        return [_pha_from_table(hdu.data, hdu.header, i, path) for i in range(len(hdu.data))]


def _row_index(data, row, path) -> int:
    if row is None:
        row = 0
    if isinstance(row, str) and not row.isdigit():
        for name in ("OBJECT", "NAME", "SRC_NAME"):
            if name in data.columns.names:
                names = [text(v) for v in data[name]]
                if row in names:
                    return names.index(row)
        raise ValueError(f"row: no spectrum named {row!r} in {path}")
    idx = int(row)
    if not 0 <= idx < len(data):
        raise ValueError(f"row: {idx} outside 0..{len(data) - 1} in {path}")
    return idx


def _ogip_keywords(h: fits.Header, pha: Pha, n_chan: int) -> None:
    defaults = [("TELESCOP", "INTEGRAL", "mission"), ("INSTRUME", "IBIS", "instrument"),
                ("FILTER", "NONE", "filter"), ("HDUCLASS", "OGIP", "format conforms to OGIP standard"),
                ("HDUCLAS1", "SPECTRUM", "PHA dataset"), ("HDUVERS", "1.2.1", "OGIP/92-007 version"),
                ("HDUCLAS2", "NET", "background-subtracted (shadowgram fit)"),
                ("HDUCLAS3", "RATE" if pha.counts is None else "COUNT", "data are rates"),
                ("CHANTYPE", "PI", "channel type"), ("AREASCAL", 1.0, "area scaling factor"),
                ("BACKSCAL", 1.0, "background scaling factor"), ("CORRSCAL", 1.0, "correction scaling factor"),
                ("CORRFILE", "NONE", "correction file")]
    for k, v, c in defaults:
        if k not in h:
            h[k] = (v, c)
    if "DETCHANS" not in h:
        h["DETCHANS"] = (n_chan, "total number of detector channels")
    if "POISSERR" not in h and (pha.poisson or not pha.columns):
        h["POISSERR"] = (pha.poisson, "Poisson errors apply")
    for key, value, comment in (("EXPOSURE", float(pha.exposure), "[s] effective exposure"),
                                ("RESPFILE", pha.respfile or "NONE", "redistribution matrix (RMF)"),
                                ("ANCRFILE", pha.ancrfile or "NONE", "ancillary response (ARF)"),
                                ("BACKFILE", pha.backfile or "NONE", "background file")):
        h.set(key, value, h.comments[key] if key in h else comment)


def _pha_columns(pha: Pha) -> list[TableColumn]:
    fmt = {name: (f, u) for name, f, u in pha.columns}
    order = [name for name, _, _ in pha.columns] or ["CHANNEL", "RATE", "STAT_ERR", "SYS_ERR", "QUALITY",
                                                      "GROUPING"]
    values = {"CHANNEL": (pha.channel, "J", None), "SYS_ERR": (pha.sys_err, "E", None),
              "QUALITY": (pha.quality, "I", None), "GROUPING": (pha.grouping, "I", None)}
    if pha.counts is not None and "COUNTS" in order:
        values["COUNTS"] = (pha.counts, "J", "count")
    if "RATE" in order or pha.counts is None:
        values["RATE"] = (pha.rate, "E", "count/s")
    if pha.stat_err is not None:
        values["STAT_ERR"] = (pha.stat_err if "RATE" in values else pha.stat_err * pha.exposure, "E",
                              "count/s" if "RATE" in values else "count")
    names = [n for n in order if n in values] + [n for n in values if n not in order]
    return [TableColumn(n, fmt.get(n, (values[n][1],))[0], values[n][0],
                        fmt[n][1] if n in fmt else values[n][2]) for n in names]


def write_pha(path: str | os.PathLike, pha: Pha, overwrite: bool = True) -> Path:
    """Write a PHA type I file (keywords of a spectrum read from a file are kept)."""
    n = pha.channel.size
    for name, arr in (("rate", pha.rate), ("sys_err", pha.sys_err), ("quality", pha.quality),
                      ("grouping", pha.grouping)):
        if np.size(arr) != n:
            raise ValueError(f"{name}: {np.size(arr)} values for {n} channels")
    header = pha.header.copy() if len(pha.header) else fits.Header()
    _ogip_keywords(header, pha, n)
    hdu = table_hdu(_pha_columns(pha), header, extname=None if "EXTNAME" in header else "SPECTRUM")
    if "TLMIN1" not in hdu.header:
        hdu.header["TLMIN1"] = (int(pha.channel.min()), "first channel")
        hdu.header["TLMAX1"] = (int(pha.channel.max()), "last channel")
    primary = fits.PrimaryHDU()
    if len(pha.primary_header):
        primary.header = merge_header(primary.header, pha.primary_header)
    fits.HDUList([primary, hdu]).writeto(path, overwrite=overwrite, checksum=True)
    return Path(path)


def spectrum_from_rates(combined: CombinedRates, index: int, respfile: str = "NONE", ancrfile: str = "NONE",
                        sys_fraction: float = 0.0, instrument: str = "ISGRI", ra_deg: float | None = None,
                        dec_deg: float | None = None, crab: tuple[float, float, float] | None = None) -> Pha:
    """The PHA of source ``index`` of ``combined``: channel k = band k (numbered from 1), channels
    without data get QUALITY 1. ``crab`` = (rate counts/s, E1, E2 keV) of the reference Crab."""
    if not (math.isfinite(sys_fraction) and 0 <= sys_fraction < 1):
        raise ValueError(f"sys_fraction: must be in [0, 1), got {sys_fraction!r}")
    rate, err = combined.rate[:, index], combined.rate_err[:, index]
    bad = ~(np.isfinite(rate) & np.isfinite(err))
    n = rate.size
    h = fits.Header()
    h["TELESCOP"], h["INSTRUME"] = "INTEGRAL", "IBIS" if instrument.upper().startswith("ISGR") else "JEMX"
    h["DETNAM"] = instrument
    h["OBJECT"] = (combined.names[index], "source name")
    if ra_deg is not None and dec_deg is not None:
        h["RA_OBJ"], h["DEC_OBJ"] = (float(ra_deg), "[deg] source RA"), (float(dec_deg), "[deg] source Dec")
    h["EQUINOX"], h["RADECSYS"] = 2000.0, "FK5"
    h["MJDREF"], h["TIMESYS"], h["TIMEUNIT"] = (51544.0, "IJD 0 = MJD 51544 (TT)"), "TT", "d"
    h["TSTART"], h["TSTOP"] = (combined.t_start_ijd, "[d] IJD"), (combined.t_stop_ijd, "[d] IJD")
    h["NSCW"] = (int(combined.n_scw[index]), "science windows combined")
    h["SYSFRAC"] = (float(sys_fraction), "systematic fraction in SYS_ERR")
    if crab is not None:
        h["CRABRATE"] = (float(crab[0]), "[count/s] ref. Crab folded, CRAB_E1-CRAB_E2")
        h["CRAB_E1"], h["CRAB_E2"] = (float(crab[1]), "[keV]"), (float(crab[2]), "[keV]")
    return Pha(np.arange(1, n + 1, dtype=np.int32), np.where(bad, 0.0, rate), np.where(bad, 0.0, err),
               np.full(n, float(sys_fraction)), bad.astype(np.int16), np.ones(n, np.int16),
               float(combined.exposure_s[index]) if combined.exposure_s[index] > 0 else 1.0,
               respfile=respfile, ancrfile=ancrfile, header=h)


def write_pha2(path: str | os.PathLike, spectra: Sequence[Pha], overwrite: bool = True) -> Path:
    """Write many spectra (same channels) as one PHA type II table, one row per spectrum."""
    if not spectra:
        raise ValueError("spectra: nothing to write")
    n = spectra[0].channel.size
    if any(s.channel.size != n for s in spectra):
        raise ValueError("spectra: PHA II needs the same number of channels in every spectrum")
    if any(s.stat_err is None for s in spectra):
        raise ValueError("spectra: PHA II here holds rates with STAT_ERR")
    names = [text(s.header.get("OBJECT", f"src{i + 1}")) for i, s in enumerate(spectra)]
    width = max(8, max(len(x) for x in names))
    fwidth = max(8, max(len(s.respfile or "") for s in spectra), max(len(s.ancrfile or "") for s in spectra))

    def stack(attr):
        return np.array([getattr(s, attr) for s in spectra])
    cols = [TableColumn("SPEC_NUM", "J", np.arange(1, len(spectra) + 1, dtype=np.int32)),
            TableColumn("OBJECT", f"{width}A", names),
            TableColumn("RA_OBJ", "D", [float(s.header.get("RA_OBJ", np.nan)) for s in spectra], "deg"),
            TableColumn("DEC_OBJ", "D", [float(s.header.get("DEC_OBJ", np.nan)) for s in spectra], "deg"),
            TableColumn("CHANNEL", f"{n}J", stack("channel").astype(np.int32)),
            TableColumn("RATE", f"{n}E", stack("rate"), "count/s"),
            TableColumn("STAT_ERR", f"{n}E", stack("stat_err"), "count/s"),
            TableColumn("SYS_ERR", f"{n}E", stack("sys_err")),
            TableColumn("QUALITY", f"{n}I", stack("quality").astype(np.int16)),
            TableColumn("GROUPING", f"{n}I", stack("grouping").astype(np.int16)),
            TableColumn("EXPOSURE", "D", [s.exposure for s in spectra], "s"),
            TableColumn("RESPFILE", f"{fwidth}A", [s.respfile or "NONE" for s in spectra]),
            TableColumn("ANCRFILE", f"{fwidth}A", [s.ancrfile or "NONE" for s in spectra])]
    header = spectra[0].header.copy()
    for k in ("OBJECT", "RA_OBJ", "DEC_OBJ", "EXPOSURE", "RESPFILE", "ANCRFILE", "NSCW"):
        header.remove(k, ignore_missing=True)
    _ogip_keywords(header, spectra[0], n)
    for k in ("EXPOSURE", "RESPFILE", "ANCRFILE"):
        header.remove(k, ignore_missing=True)
    header["HDUCLAS4"] = ("TYPE:II", "many spectra, one per row")
    hdu = table_hdu(cols, header, extname="SPECTRUM")
    hdu.header["TLMIN5"], hdu.header["TLMAX5"] = int(spectra[0].channel.min()), int(spectra[0].channel.max())
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=overwrite, checksum=True)
    return Path(path)
