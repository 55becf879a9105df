"""SPI-ACS count-rate streams: the in-memory light curve, rebinning, and the MMODA FITS format.

The SPI anticoincidence shield (91 BGO crystals, nearly omnidirectional above ≈ 80 keV) only
delivers its total count rate, natively in 50 ms bins. :class:`AcsLightCurve` holds counts per
bin (float, so rebinned and real data fit), the bin width (s) and bin-centre times in seconds
after a reference ``tref_ijd`` (IJD, TT days).

File format (as served by MMODA, ``../shared/data/spiacs/``): extension ``RATE`` with TIME (s,
relative to TIMEZERO), RATE and ERROR (count/s); keywords TIMEZERO (s since MJDREF 51544 on the
TT scale, i.e. IJD × 86400), TIMEDEL (s), TSTART/TSTOP (s, same scale), TIMESYS 'TT', TIMEUNIT
's'. TIME stamps the bin centre. Checked on the real GRB 230307A file: its burst onset lies at
TIMEZERO + TIME = IJD 8466.65642 = 2023-03-07T15:44:06 UTC, the published trigger time. (That
file's DATE-OBS shows TSTART on the TT clock, 69.184 s after UTC; it is not used.)
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from astropy.io import fits

from ..timesys import from_ijd, isot

__all__ = ["NATIVE_BIN_S", "AcsLightCurve", "read_acs_fits", "write_acs_fits"]

NATIVE_BIN_S = 0.05
DAY_S = 86400.0


@dataclass
class AcsLightCurve:
    """SPI-ACS counts per bin; times are bin centres in s after ``tref_ijd`` (IJD, TT)."""

    tref_ijd: float
    time_s: np.ndarray
    width_s: float
    counts: np.ndarray
    meta: dict = field(default_factory=dict)

    def __post_init__(self):
        self.time_s = np.asarray(self.time_s, float)
        self.counts = np.asarray(self.counts, float)
        if self.time_s.ndim != 1 or self.time_s.shape != self.counts.shape:
            raise ValueError(f"counts: {self.counts.size} values for {self.time_s.size} times")
        if not (math.isfinite(self.width_s) and self.width_s > 0):
            raise ValueError(f"bin: width must be > 0 s, got {self.width_s!r}")
        if not math.isfinite(self.tref_ijd):
            raise ValueError("tref: reference time must be a finite IJD")
        if self.time_s.size > 1 and np.any(np.diff(self.time_s) <= 0):
            raise ValueError("time: bins must be in increasing time order")

    def __len__(self) -> int:
        return int(self.time_s.size)

    @property
    def rate(self) -> np.ndarray:
        """Counts/s per bin."""
        return self.counts / self.width_s

    @property
    def poisson_error(self) -> np.ndarray:
        """√counts / width (counts/s): the Poisson error (the real ACS scatter is wider)."""
        return np.sqrt(np.clip(self.counts, 0, None)) / self.width_s

    @property
    def time_ijd(self) -> np.ndarray:
        return self.tref_ijd + self.time_s / DAY_S

    @property
    def duration_s(self) -> float:
        return float(self.time_s[-1] - self.time_s[0] + self.width_s) if len(self) else 0.0

    def window(self, t1_s: float, t2_s: float) -> AcsLightCurve:
        """Bins whose centres lie in [t1_s, t2_s] (s after ``tref_ijd``)."""
        if not t1_s < t2_s:
            raise ValueError(f"window: start {t1_s} s must be before end {t2_s} s")
        keep = (self.time_s >= t1_s) & (self.time_s <= t2_s)
        return replace(self, time_s=self.time_s[keep], counts=self.counts[keep], meta=dict(self.meta))

    def rebin(self, width_s: float) -> AcsLightCurve:
        """Sum counts in groups of n = width_s / width consecutive bins (n must be an integer ≥ 1;
        an incomplete last group is dropped). Times become the mean of each group's centres."""
        n = width_s / self.width_s
        if not (math.isfinite(n) and n >= 1 - 1e-9 and abs(n - round(n)) < 1e-6):
            raise ValueError(f"bin: {width_s:g} s is not a multiple of the {self.width_s:g} s bins")
        n = round(n)
        if n == 1:
            return replace(self, meta=dict(self.meta))
        m = len(self) // n * n
        if m == 0:
            raise ValueError(f"bin: {width_s:g} s is longer than the light curve ({self.duration_s:g} s)")
        return replace(self, time_s=self.time_s[:m].reshape(-1, n).mean(axis=1), width_s=n * self.width_s,
                       counts=self.counts[:m].reshape(-1, n).sum(axis=1), meta=dict(self.meta))


def read_acs_fits(path: str | os.PathLike) -> AcsLightCurve:
    """Read an SPI-ACS light curve in the MMODA format (module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        with fits.open(path) as hdul:
            if "RATE" not in hdul:
                raise ValueError(f"{path}: RATE: no RATE extension")
            h, data = hdul["RATE"].header, hdul["RATE"].data
            names = [c.upper() for c in data.columns.names]
            for col in ("TIME", "RATE"):
                if col not in names:
                    raise ValueError(f"{path}: {col}: column missing")
            timesys = str(h.get("TIMESYS", "TT")).strip().upper()
            if timesys != "TT":
                raise ValueError(f"{path}: TIMESYS: {timesys!r} is not supported (TT expected)")
            unit = str(h.get("TIMEUNIT", "s")).strip().lower()
            if unit not in ("s", "sec"):
                raise ValueError(f"{path}: TIMEUNIT: expected seconds, got {unit!r}")
            if "TIMEDEL" not in h:
                raise ValueError(f"{path}: TIMEDEL: keyword missing")
            width = float(h["TIMEDEL"])
            mjdref = float(h.get("MJDREF", 51544.0))
            tzero = float(h.get("TIMEZERO", 0.0))
            time = np.asarray(data["TIME"], float)
            counts = np.asarray(data["RATE"], float) * width
            meta = {k: h[k] for k in ("INSTRUME", "TELESCOP", "TSTART", "TSTOP", "EPHS") if k in h}
    except OSError as exc:
        raise ValueError(f"{path}: not a readable FITS file ({exc})") from None
    good = np.isfinite(time) & np.isfinite(counts)
    order = np.argsort(time[good], kind="stable")
    return AcsLightCurve((mjdref - 51544.0) + tzero / DAY_S, time[good][order], width, counts[good][order], meta)


def write_acs_fits(path: str | os.PathLike, lc: AcsLightCurve, overwrite: bool = True) -> Path:
    """Write ``lc`` in the MMODA SPI-ACS layout (TIME relative to TIMEZERO, s; RATE; ERROR = the
    Poisson error, as in the MMODA files)."""
    cols = [fits.Column("TIME", "D", unit="s", array=lc.time_s),
            fits.Column("RATE", "D", unit="count/s", array=lc.rate),
            fits.Column("ERROR", "D", unit="count/s", array=lc.poisson_error)]
    hdu = fits.BinTableHDU.from_columns(cols, name="RATE")
    h = hdu.header
    tzero = lc.tref_ijd * DAY_S
    t0 = tzero + (float(lc.time_s[0]) - lc.width_s / 2 if len(lc) else 0.0)
    t1 = tzero + (float(lc.time_s[-1]) + lc.width_s / 2 if len(lc) else 0.0)
    h["TELESCOP"], h["INSTRUME"] = "INTEGRAL", "SPI-ACS"
    h["HDUCLASS"], h["HDUCLAS1"], h["HDUCLAS2"], h["HDUCLAS3"] = "OGIP", "LIGHTCURVE", "TOTAL", "RATE"
    h["TIMESYS"], h["TIMEREF"], h["TASSIGN"], h["TIMEUNIT"] = "TT", "LOCAL", "SATELLITE", "s"
    h["MJDREF"] = (51544.0, "[d] MJD(TT) of IJD 0")
    h["TIMEZERO"] = (tzero, "[s] since MJDREF (TT); TIME is relative to it")
    h["TSTART"], h["TSTOP"] = (t0, "[s] since MJDREF (TT)"), (t1, "[s] since MJDREF (TT)")
    h["TIMEDEL"], h["TIMEPIXR"] = (lc.width_s, "[s] bin width"), (0.5, "TIME marks the bin centre")
    h["ONTIME"] = (len(lc) * lc.width_s, "[s]")
    h["DATE-OBS"], h["DATE-END"] = isot(from_ijd(t0 / DAY_S), 3), isot(from_ijd(t1 / DAY_S), 3)
    h["CREATOR"] = "SkyGallery"
    for key, value in lc.meta.items():
        if str(key).upper() not in h and isinstance(value, (str, int, float, bool)):
            h[str(key)[:8].upper()] = value
    path = Path(path)
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path, overwrite=overwrite)
    return path
