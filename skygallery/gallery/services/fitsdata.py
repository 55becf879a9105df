"""Readers of INTEGRAL FITS products for previews and plots: pure numpy/astropy, no Django.

Every reader takes a path (plain or gzip-compressed FITS; the content is sniffed, the name is not
used, so files of the content-addressed store work) and returns a small dataclass, or ``None`` when
the file is not FITS or holds nothing of that kind. Readers never raise on odd files.

Units:
  * sky images: pixel values as stored (significance in σ, intensity in counts/s, …);
  * light curves: rate and error in counts/s; time in MJD (TT) days for long curves, or in seconds
    since a reference epoch ``t0_mjd`` for curves shorter than ``SHORT_CURVE_S``;
  * spectra: energies in keV (from the EBOUNDS of an RMF) and rate density in counts/s/keV, or
    channel numbers and counts/s/channel when no EBOUNDS match.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from astropy import units as u
from astropy.io import fits
from astropy.wcs import WCS

log = logging.getLogger(__name__)

IJD_MJDREF = 51544.0          # MJD(TT) of IJD 0, the INTEGRAL time origin
SHORT_CURVE_S = 2 * 86400.0   # curves spanning less than this are shown in seconds since their start
_EMPTY_KEYWORD_VALUES = {"", "STRING", "NONE", "UNKNOWN"}  # template values OSA leaves in unset keywords


@dataclass
class SkyImage:
    """A 2-D sky map. ``data``: float array (NaN where undefined), unit ``unit``; ``wcs``: celestial
    WCS (RA/Dec, degrees) or None; ``e_min``/``e_max``: band in keV or None."""
    data: np.ndarray
    wcs: WCS | None
    imatype: str
    unit: str
    e_min: float | None = None
    e_max: float | None = None


@dataclass
class LightCurve:
    """A binned light curve. ``time``: bin centres, in MJD (TT) days when ``time_unit == 'd'``,
    in seconds since MJD ``t0_mjd`` when ``time_unit == 's'``; ``half_width``: half bin width in the
    same unit; ``rate``/``error``: counts/s; ``bin_s``: bin widths in seconds."""
    time: np.ndarray
    half_width: np.ndarray
    rate: np.ndarray
    error: np.ndarray
    bin_s: np.ndarray
    time_unit: str
    time_label: str
    t0_mjd: float | None
    name: str


@dataclass
class Spectrum:
    """A count spectrum. ``lo``/``hi``/``x``: bin edges and centre, keV when ``has_energy`` else
    channel numbers (edges at ±0.5); ``rate``/``error``: counts/s/keV (or counts/s/channel);
    ``exposure_s``: seconds (or None)."""
    x: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    rate: np.ndarray
    error: np.ndarray
    has_energy: bool
    exposure_s: float | None
    name: str

    @property
    def x_label(self) -> str:
        return "Energy [keV]" if self.has_energy else "Channel"

    @property
    def y_label(self) -> str:
        return "Rate [counts s⁻¹ keV⁻¹]" if self.has_energy else "Rate [counts s⁻¹ channel⁻¹]"


@dataclass
class Ebounds:
    """Channel energy bounds of an RMF: ``channel`` (int), ``e_min``/``e_max`` in keV."""
    channel: np.ndarray
    e_min: np.ndarray
    e_max: np.ndarray


# --- opening and HDU finding ---------------------------------------------------------------------

@contextmanager
def open_fits(path: Path | str) -> Iterator[fits.HDUList | None]:
    """Open a FITS file (gzip sniffed from content) without memory mapping; yield None when the
    file is missing, empty or not FITS."""
    try:
        hdul = fits.open(path, memmap=False)
        len(hdul)  # forces reading every header: a truncated file fails here
    except Exception as exc:  # noqa: BLE001 — any unreadable file is simply "not FITS"
        log.debug("not a readable FITS file %s: %s", path, exc)
        yield None
        return
    try:
        yield hdul
    finally:
        hdul.close()


def _columns(hdu) -> set[str]:
    is_table = isinstance(hdu, (fits.BinTableHDU, fits.TableHDU))
    return {name.upper() for name in hdu.columns.names} if is_table else set()


def _is_lightcurve(hdu) -> bool:
    return "TIME" in (cols := _columns(hdu)) and bool(cols & {"RATE", "COUNTS"})


def _is_spectrum(hdu) -> bool:
    return "CHANNEL" in (cols := _columns(hdu)) and bool(cols & {"RATE", "COUNTS"}) and "TIME" not in cols


def _is_ebounds(hdu) -> bool:
    return {"CHANNEL", "E_MIN", "E_MAX"} <= _columns(hdu)


def _is_image(hdu) -> bool:
    """An image HDU with exactly two axes longer than 1."""
    naxis = hdu.header.get("NAXIS", 0) if hdu.is_image else 0
    return sum(int(hdu.header.get(f"NAXIS{i}", 1)) > 1 for i in range(1, naxis + 1)) == 2


def _imatype(hdu) -> str:
    return str(hdu.header.get("IMATYPE", "")).strip().upper()


def find_significance_hdu(hdul: fits.HDUList):
    """The image HDU with IMATYPE SIGNIFICANCE, else the first HDU holding a 2-D image, else None."""
    images = [hdu for hdu in hdul if _is_image(hdu)]
    return next((hdu for hdu in images if _imatype(hdu) == "SIGNIFICANCE"), images[0] if images else None)


def classify(path: Path | str) -> str | None:
    """'image', 'lightcurve', 'spectrum' or 'response' (a file with EBOUNDS) for a FITS file; None otherwise."""
    with open_fits(path) as hdul:
        if hdul is None:
            return None
        for kind, test in (("spectrum", _is_spectrum), ("lightcurve", _is_lightcurve),
                           ("response", _is_ebounds)):
            if any(test(hdu) for hdu in hdul):
                return kind
        return "image" if find_significance_hdu(hdul) is not None else None


# --- header helpers ------------------------------------------------------------------------------

def _text(header, *keys) -> str:
    """First string value among ``keys`` that is really set (not an OSA template value)."""
    for key in keys:
        value = str(header.get(key, "")).strip()
        if value.upper() not in _EMPTY_KEYWORD_VALUES:
            return value
    return ""


def _number(header, key, default=None) -> float | None:
    try:
        value = float(header[key])
    except (KeyError, TypeError, ValueError):
        return default
    return value if np.isfinite(value) else default


def _seconds_per(unit: str | None, default: float = 1.0) -> float:
    """Seconds in one ``unit`` ('s', 'd', 'ks', …); ``default`` for an empty or unknown unit."""
    if not unit or not str(unit).strip():
        return default
    try:
        return float(u.Unit(str(unit).strip()).to(u.s))
    except (ValueError, TypeError, u.UnitsError):
        return default


def _column_unit(hdu, name: str) -> str:
    for i, col in enumerate(hdu.columns.names, start=1):
        if col.upper() == name:
            return str(hdu.header.get(f"TUNIT{i}", "")).strip()
    return ""


def _column(hdu, name: str) -> np.ndarray | None:
    """A numeric column as float64 (first element of vector cells), or None when absent."""
    if name not in _columns(hdu):
        return None
    data = np.asarray(hdu.data[name], dtype=float)
    return data.reshape(len(data), -1)[:, 0] if data.ndim > 1 else data


def _mjdref(header) -> float | None:
    """MJDREF (or MJDREFI + MJDREFF), IJD's 51544 for INTEGRAL files without one, else None."""
    if "MJDREF" in header:
        return _number(header, "MJDREF")
    if "MJDREFI" in header:
        return _number(header, "MJDREFI", 0.0) + _number(header, "MJDREFF", 0.0)
    return IJD_MJDREF if _text(header, "TELESCOP").upper() == "INTEGRAL" else None


def _source_label(header, path: Path | str) -> str:
    """Legend label: source name, instrument and band, else the file name."""
    instrument = "/".join(dict.fromkeys(p for p in (_text(header, "INSTRUME"), _text(header, "DETNAM")) if p))
    parts = [_text(header, "NAME", "OBJECT", "SOURCEID"), instrument]
    e1, e2 = _number(header, "E_MIN"), _number(header, "E_MAX")
    if e1 is not None and e2 is not None:
        parts.append(f"{e1:g}–{e2:g} keV")
    return " ".join(p for p in parts if p) or Path(path).name


# --- images --------------------------------------------------------------------------------------

def celestial_wcs(header) -> WCS | None:
    """The celestial (RA/Dec) WCS of a 2-D image header, or None when it has none."""
    try:
        header = header.copy()
        if "RADECSYS" in header and "RADESYS" not in header:
            header.rename_keyword("RADECSYS", "RADESYS")
        wcs = WCS(header, naxis=2, fix=False)
    except Exception:  # noqa: BLE001 — malformed WCS keywords: no WCS
        return None
    return wcs.celestial if wcs.has_celestial and wcs.celestial.naxis == 2 else None


def _exposure_map(hdul: fits.HDUList, shape: tuple[int, ...]) -> np.ndarray | None:
    """The IMATYPE EXPOSURE map (seconds) of the same shape as the shown map, or None."""
    hdu = next((hdu for hdu in hdul if _is_image(hdu) and _imatype(hdu) == "EXPOSURE"), None)
    exposure = np.squeeze(np.asarray(hdu.data, dtype=np.float32)) if hdu is not None else None
    return exposure if exposure is not None and exposure.shape == shape else None


def read_sky_image(path: Path | str) -> SkyImage | None:
    """The significance map of an OSA image/mosaic (else its first 2-D image), or None. Pixels with
    no exposure (IMATYPE EXPOSURE map ≤ 0 s, when the file has one) are set to NaN."""
    with open_fits(path) as hdul:
        hdu = find_significance_hdu(hdul) if hdul is not None else None
        if hdu is None:
            return None
        try:
            data = np.array(np.squeeze(hdu.data), dtype=np.float32)
            exposure = _exposure_map(hdul, data.shape)
        except Exception:  # noqa: BLE001 — unreadable (e.g. truncated) data section
            return None
        header = hdu.header
    data[~np.isfinite(data)] = np.nan
    if exposure is not None:
        data[~(exposure > 0)] = np.nan
    imatype = _text(header, "IMATYPE") or "image"
    unit = "σ" if imatype.upper() == "SIGNIFICANCE" else _text(header, "BUNIT").replace("no units", "")
    wcs = celestial_wcs(header) if header.get("NAXIS") == 2 else None
    return SkyImage(data, wcs, imatype, unit, _number(header, "E_MIN"), _number(header, "E_MAX"))


# --- light curves --------------------------------------------------------------------------------

def _bin_widths(hdu, t_s: np.ndarray) -> np.ndarray:
    """Bin widths in seconds: TIMEDEL column, else TIMEDEL keyword (TIMEUNIT), else the median spacing."""
    header = hdu.header
    unit_s = _seconds_per(header.get("TIMEUNIT"))
    col = _column(hdu, "TIMEDEL")
    if col is not None:
        return col * _seconds_per(_column_unit(hdu, "TIMEDEL"), unit_s)
    timedel = _number(header, "TIMEDEL")
    if timedel is None or timedel <= 0:
        timedel_s = float(np.median(np.diff(t_s))) if len(t_s) > 1 else 1.0
        return np.full(len(t_s), timedel_s if timedel_s > 0 else 1.0)
    return np.full(len(t_s), timedel * unit_s)


def _time_axis(header, t_s: np.ndarray, half_s: np.ndarray):
    """(time, half width, unit, label, t0_mjd) from bin centres in seconds since MJDREF."""
    mjdref = _mjdref(header)
    timesys = _text(header, "TIMESYS") or "TT"
    span = float(t_s.max() - t_s.min()) if len(t_s) else 0.0
    if mjdref is not None and span >= SHORT_CURVE_S:
        return mjdref + t_s / 86400.0, half_s / 86400.0, "d", f"Time [MJD ({timesys})]", None
    unit_s = _seconds_per(header.get("TIMEUNIT"))
    timezero = _number(header, "TIMEZERO", 0.0) * unit_s
    t0 = timezero if timezero and t_s.min() - 1 <= timezero <= t_s.max() + 1 else float(t_s.min() - half_s[0])
    if mjdref is None:
        return t_s - t0, half_s, "s", "Time since first bin [s]", None
    t0_mjd = mjdref + t0 / 86400.0
    return t_s - t0, half_s, "s", f"Time since MJD {t0_mjd:.6f} ({timesys}) [s]", t0_mjd


def _lightcurve_from_hdu(hdu, path) -> LightCurve | None:
    header = hdu.header
    time = _column(hdu, "TIME")
    unit_s = _seconds_per(_column_unit(hdu, "TIME") or header.get("TIMEUNIT"))
    t_s = time * unit_s + _number(header, "TIMEZERO", 0.0) * _seconds_per(header.get("TIMEUNIT"))
    bin_s = _bin_widths(hdu, t_s)
    t_s = t_s + (0.5 - _number(header, "TIMEPIXR", 0.5)) * bin_s   # to bin centres
    rate, error = _column(hdu, "RATE"), _column(hdu, "ERROR")
    if rate is None:                                     # COUNTS column: divide by the bin width
        counts = _column(hdu, "COUNTS")
        rate, error = counts / bin_s, (error / bin_s if error is not None else np.sqrt(np.abs(counts)) / bin_s)
    error = np.abs(error) if error is not None else np.zeros_like(rate)
    good = np.isfinite(t_s) & np.isfinite(rate) & np.isfinite(bin_s)
    if not good.any():
        return None
    error = np.where(np.isfinite(error), error, 0.0)
    t, half, unit, label, t0 = _time_axis(header, t_s[good], bin_s[good] / 2)
    return LightCurve(t, half, rate[good], error[good], bin_s[good], unit, label, t0, _source_label(header, path))


def read_lightcurve(path: Path | str) -> LightCurve | None:
    """The first OGIP RATE table (TIME + RATE/COUNTS [+ ERROR]) of a file, or None."""
    with open_fits(path) as hdul:
        for hdu in hdul or []:
            if _is_lightcurve(hdu):
                try:
                    return _lightcurve_from_hdu(hdu, path)
                except Exception as exc:  # noqa: BLE001 — malformed table: not a light curve
                    log.debug("unreadable light curve in %s: %s", path, exc)
                    return None
    return None


def common_time_axis(curves: list[LightCurve]) -> list[LightCurve]:
    """Put several curves on one time axis: seconds since the earliest ``t0_mjd`` when all are short
    curves with a known epoch spanning < SHORT_CURVE_S together, else MJD; curves without an absolute
    epoch are dropped unless alone."""
    if len(curves) <= 1 or len({lc.time_label for lc in curves}) == 1:
        return curves
    curves = [lc for lc in curves if lc.t0_mjd is not None or lc.time_unit == "d"]
    if not curves:
        return []
    mjd = [lc.time if lc.time_unit == "d" else lc.t0_mjd + lc.time / 86400.0 for lc in curves]
    half = [lc.half_width if lc.time_unit == "d" else lc.half_width / 86400.0 for lc in curves]
    start = min(float(t.min()) for t in mjd)
    if (max(float(t.max()) for t in mjd) - start) * 86400.0 >= SHORT_CURVE_S:
        return [replace(lc, time=t, half_width=h, time_unit="d", time_label="Time [MJD (TT)]", t0_mjd=None)
                for lc, t, h in zip(curves, mjd, half)]
    t0 = min(lc.t0_mjd for lc in curves)
    label = f"Time since MJD {t0:.6f} (TT) [s]"
    return [replace(lc, time=(t - t0) * 86400.0, half_width=h * 86400.0, time_unit="s", time_label=label, t0_mjd=t0)
            for lc, t, h in zip(curves, mjd, half)]


# --- spectra -------------------------------------------------------------------------------------

def read_ebounds(path: Path | str) -> Ebounds | None:
    """The EBOUNDS table (CHANNEL, E_MIN, E_MAX) of an RMF, energies converted to keV, or None."""
    with open_fits(path) as hdul:
        for hdu in hdul or []:
            if not _is_ebounds(hdu):
                continue
            try:
                scale = u.Unit(_column_unit(hdu, "E_MIN") or "keV").to(u.keV)
            except (ValueError, u.UnitsError):
                scale = 1.0
            channel = _column(hdu, "CHANNEL").astype(int)
            return Ebounds(channel, _column(hdu, "E_MIN") * scale, _column(hdu, "E_MAX") * scale)
    return None


def _pha_rates(hdu):
    """(channel, rate counts/s, error counts/s, exposure s) of a PHA-I table (first row of a PHA-II)."""
    header = hdu.header
    exposure = _number(header, "EXPOSURE")
    channel = _column(hdu, "CHANNEL")
    rate, error = _column(hdu, "RATE"), _column(hdu, "STAT_ERR")
    if rate is None:
        counts = _column(hdu, "COUNTS")
        if not exposure:
            return None
        rate = counts / exposure
        error = error / exposure if error is not None else np.sqrt(np.abs(counts)) / exposure
    error = np.zeros_like(rate) if error is None else error
    quality = _column(hdu, "QUALITY")
    good = np.isfinite(channel) & np.isfinite(rate) & np.isfinite(error)
    if quality is not None:
        good &= quality == 0
    return channel[good].astype(int), rate[good], np.abs(error[good]), exposure


def _to_energy(channel, rate, error, ebounds: Ebounds | None):
    """Bin edges and densities: per keV through ``ebounds`` when every channel is listed there,
    else per channel."""
    if ebounds is not None:
        order = np.argsort(ebounds.channel)
        chans = ebounds.channel[order]
        idx = np.clip(np.searchsorted(chans, channel), 0, max(len(chans) - 1, 0))
        if len(chans) and np.all(chans[idx] == channel):
            lo, hi = ebounds.e_min[order][idx], ebounds.e_max[order][idx]
            width = hi - lo
            if np.all(width > 0):
                return lo, hi, rate / width, error / width, True
    return channel - 0.5, channel + 0.5, rate, error, False


def read_spectrum(pha_path: Path | str, rmf_path: Path | str | None = None) -> Spectrum | None:
    """An OGIP PHA spectrum, in counts/s/keV against keV when ``rmf_path`` holds matching EBOUNDS."""
    with open_fits(pha_path) as hdul:
        hdu = next((h for h in hdul or [] if _is_spectrum(h)), None)
        if hdu is None:
            return None
        try:
            rates = _pha_rates(hdu)
        except Exception as exc:  # noqa: BLE001 — malformed table: not a spectrum
            log.debug("unreadable spectrum in %s: %s", pha_path, exc)
            return None
        name = _source_label(hdu.header, pha_path)
    if rates is None or len(rates[0]) == 0:
        return None
    channel, rate, error, exposure = rates
    ebounds = read_ebounds(rmf_path) if rmf_path is not None else None
    lo, hi, density, err, has_energy = _to_energy(channel, rate, error, ebounds)
    x = np.sqrt(lo * hi) if has_energy and np.all(lo > 0) else (lo + hi) / 2
    return Spectrum(x, lo, hi, density, err, has_energy, exposure, name)


def find_spectrum_files(paths: Iterable[Path | str]) -> tuple[Path | None, Path | None]:
    """(first PHA file, first RMF with EBOUNDS) among ``paths``; either may be None."""
    kinds = [(Path(p), classify(p)) for p in paths]
    pha = next((p for p, kind in kinds if kind == "spectrum"), None)
    return pha, next((p for p, kind in kinds if kind == "response"), None)
