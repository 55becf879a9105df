"""Files of the sample gallery: seeded simulations of OSA mosaics, OGIP light curves and spectra.

Pure functions (numpy, scipy, astropy, matplotlib; no Django). Conventions: angles in deg, times in IJD
(days, TT; ``MJDREF = 51544``) unless a name ends in ``_s`` (seconds), energies in keV, ISGRI rates in
counts/s, JEM-X image fluxes in counts/s/cm**2. Every random draw comes from ``numpy.random.default_rng(seed)``
and every file is byte-for-byte reproducible (gzip ``mtime=0``, no DATE keyword), so
the loader can compare SHA-256 digests to decide whether a product changed.
"""
from __future__ import annotations

import gzip
import io
from dataclasses import dataclass, replace

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS
from scipy import ndimage

MJDREF = 51544.0
IMATYPES = ("INTENSITY", "VARIANCE", "SIGNIFICANCE", "EXPOSURE")
FWHM_TO_SIGMA = 1.0 / 2.3548


@dataclass(frozen=True)
class Camera:
    """Imaging geometry of one instrument (half-widths for the square ISGRI field, radii for JEM-X)."""

    name: str
    extname: str
    instrume: str
    detnam: str
    pix_deg: float
    psf_fwhm_deg: float
    fully_coded_deg: float
    zero_response_deg: float
    square: bool
    deadc: float
    noise_k: float  # per-pixel intensity sigma x sqrt(effective exposure in s)
    bunit: str
    e1_kev: float
    e2_kev: float


# ISGRI: 4.937' pixels (CD1_1 of real images), 12' PSF, fully coded 8.3 deg, zero response 29 deg.
ISGRI = Camera("isgri", "ISGR-MOSA-IMA", "IBIS", "ISGRI", 0.0822863, 12.0 / 60, 4.15, 14.5, True, 0.72, 20.0,
               "counts/sec", 28.0, 40.0)
# JEM-X: 3.3' PSF, fully coded 4.8 deg diameter, zero response 13.2 deg diameter; 2.4' mosaic pixels.
JEMX1 = Camera("jemx1", "JMX1-MOSA-IMA", "JMX1", "JMX1", 0.04, 3.3 / 60, 2.4, 6.6, False, 0.85, 0.08,
               "counts/s/cm**2", 3.0, 20.0)
JEMX2 = replace(JEMX1, name="jemx2", extname="JMX2-MOSA-IMA", instrume="JMX2", detnam="JMX2")
CAMERAS = {c.name: c for c in (ISGRI, JEMX1, JEMX2)}


@dataclass(frozen=True)
class Pointing:
    """One pointing science window: id ``RRRRPPPPSSSF.VVV``, axis (deg) and time span (IJD)."""

    scw: str
    ra: float
    dec: float
    t1_ijd: float
    t2_ijd: float

    @property
    def duration_s(self) -> float:
        return (self.t2_ijd - self.t1_ijd) * 86400.0


@dataclass
class Mosaic:
    """The four OSA mosaic maps (intensity, variance, significance, exposure in s) on a TAN grid."""

    camera: Camera
    wcs: WCS
    intensity: np.ndarray
    variance: np.ndarray
    significance: np.ndarray
    exposure: np.ndarray


@dataclass(frozen=True)
class Detection:
    """A source found in a mosaic: position (deg), peak flux and error (map units), significance (sigma)."""

    name: str
    ra: float
    dec: float
    flux: float
    flux_err: float
    significance: float
    new_source: bool = False


# --------------------------------------------------------------------------- geometry

def gnomonic(ra, dec, ra0: float, dec0: float):
    """Tangent-plane offsets (deg, x to the east, y to the north) of (ra, dec) from (ra0, dec0); NaN behind."""
    a, d, a0, d0 = (np.radians(v) for v in (np.asarray(ra, float), np.asarray(dec, float), ra0, dec0))
    cosc = np.sin(d0) * np.sin(d) + np.cos(d0) * np.cos(d) * np.cos(a - a0)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.cos(d) * np.sin(a - a0) / cosc
        y = (np.cos(d0) * np.sin(d) - np.sin(d0) * np.cos(d) * np.cos(a - a0)) / cosc
    bad = cosc <= 0
    return np.where(bad, np.nan, np.degrees(np.arctan(x))), np.where(bad, np.nan, np.degrees(np.arctan(y)))


def offset_position(ra0: float, dec0: float, east_deg: float, north_deg: float) -> tuple[float, float]:
    """(ra, dec) in deg of the point at tangent-plane offsets (east, north) in deg from (ra0, dec0)."""
    x, y = np.tan(np.radians(east_deg)), np.tan(np.radians(north_deg))
    d0 = np.radians(dec0)
    rho = np.hypot(x, y)
    c = np.arctan(rho)
    dec = np.arcsin(np.cos(c) * np.sin(d0) + (y * np.sin(c) * np.cos(d0) / rho if rho else 0.0))
    ra = ra0 + np.degrees(np.arctan2(x * np.sin(c), rho * np.cos(d0) * np.cos(c) - y * np.sin(d0) * np.sin(c)))
    return float(ra % 360.0), float(np.degrees(dec))


def response(cam: Camera, x_deg, y_deg):
    """Coding response 0..1: 1 in the fully coded field, falling linearly to 0 at the zero-response edge."""
    def ramp(u):
        return np.clip((cam.zero_response_deg - u) / (cam.zero_response_deg - cam.fully_coded_deg), 0.0, 1.0)
    if cam.square:
        r = ramp(np.abs(x_deg)) * ramp(np.abs(y_deg))
    else:
        r = ramp(np.hypot(x_deg, y_deg))
    return np.nan_to_num(r, nan=0.0)


def source_exposures_s(cam: Camera, pointings: list[Pointing], ra: float, dec: float) -> np.ndarray:
    """Effective (dead-time and coding corrected) exposure in s of a sky position in each pointing."""
    out = []
    for p in pointings:
        x, y = gnomonic(ra, dec, p.ra, p.dec)
        out.append(p.duration_s * cam.deadc * float(response(cam, x, y)))
    return np.array(out)


# --------------------------------------------------------------------------- mosaics

def mosaic_wcs(cam: Camera, ra0: float, dec0: float, npix: int) -> WCS:
    """North-up TAN WCS centred on (ra0, dec0) with the camera's pixel size (CD matrix, deg/pixel)."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [ra0, dec0]
    w.wcs.crpix = [(npix + 1) / 2.0, (npix + 1) / 2.0]
    w.wcs.cd = [[-cam.pix_deg, 0.0], [0.0, cam.pix_deg]]
    w.wcs.cunit = ["deg", "deg"]
    w.wcs.radesys, w.wcs.equinox = "FK5", 2000.0
    return w


def simulate_mosaic(cam: Camera, pointings: list[Pointing], center: tuple[float, float],
                    sources: list[tuple[str, float, float, float]], seed: int) -> Mosaic:
    """Mosaic of Gaussian-PSF point sources ``(name, ra, dec, rate)`` on PSF-correlated noise.

    Noise sigma per pixel = ``noise_k / sqrt(exposure_s)``; the exposure map sums the pointings'
    durations times dead time times coding response, so it falls off towards the edges.
    """
    reach = max(np.nanmax(np.hypot(*gnomonic(p.ra, p.dec, *center))) for p in pointings) + cam.zero_response_deg
    npix = 2 * int(np.ceil(reach / cam.pix_deg)) + 1
    w = mosaic_wcs(cam, *center, npix)
    yy, xx = np.mgrid[0:npix, 0:npix]
    coarse = np.arange(0, npix + 3, 4)  # exposure is smooth: compute it every 4 pixels, interpolate linearly
    ra, dec = w.pixel_to_world_values(*np.meshgrid(coarse, coarse))
    exp_coarse = sum(p.duration_s * cam.deadc * response(cam, *gnomonic(ra, dec, p.ra, p.dec)) for p in pointings)
    exposure = ndimage.map_coordinates(exp_coarse, [yy / 4.0, xx / 4.0], order=1)
    good = exposure > 0.005 * exposure.max()
    sigma = np.where(good, cam.noise_k / np.sqrt(np.where(good, exposure, 1.0)), 0.0)
    psf_px = cam.psf_fwhm_deg * FWHM_TO_SIGMA / cam.pix_deg
    model = np.zeros_like(exposure)
    for _name, s_ra, s_dec, rate in sources:
        sx, sy = w.world_to_pixel_values(s_ra, s_dec)
        model += rate * np.exp(-((xx - sx) ** 2 + (yy - sy) ** 2) / (2 * psf_px ** 2))
    rng = np.random.default_rng(seed)
    noise = ndimage.gaussian_filter(rng.standard_normal((npix, npix)), psf_px, mode="wrap")
    noise /= noise.std()
    intensity = np.where(good, model + noise * sigma, 0.0)
    significance = np.where(good, intensity / np.where(good, sigma, 1.0), 0.0)
    return Mosaic(cam, w, intensity.astype("f4"), (sigma ** 2).astype("f4"), significance.astype("f4"),
                  np.where(good, exposure, 0.0).astype("f4"))


def _measure(m: Mosaic, iy: int, ix: int, name: str, new: bool) -> Detection:
    """Peak-pixel photometry at (iy, ix); position = significance-weighted centroid of the 3x3 box."""
    box = np.clip(m.significance[max(iy - 1, 0):iy + 2, max(ix - 1, 0):ix + 2].astype(float), 0, None)
    gy, gx = np.mgrid[max(iy - 1, 0):iy + 2, max(ix - 1, 0):ix + 2]
    cy, cx = (gy * box).sum() / box.sum(), (gx * box).sum() / box.sum()
    ra, dec = m.wcs.pixel_to_world_values(cx, cy)
    flux, err = float(m.intensity[iy, ix]), float(np.sqrt(m.variance[iy, ix]))
    return Detection(name, round(float(ra) % 360, 5), round(float(dec), 5), float(f"{flux:.5g}"),
                     float(f"{err:.4g}"), round(float(m.significance[iy, ix]), 2), new)


def detect_sources(m: Mosaic, catalog: list[tuple[str, float, float]], threshold: float,
                   search_px: float = 2.0, min_exposure_fraction: float = 0.1) -> list[Detection]:
    """Catalog sources whose significance peak (within ``search_px``) reaches ``threshold``, then new
    excesses (local maxima >= threshold, away from catalog positions, low-exposure edges cut); by significance."""
    sig = np.where(m.exposure >= min_exposure_fraction * m.exposure.max(), m.significance, 0.0)
    ny, nx = sig.shape
    found, taken = [], []
    for name, ra, dec in catalog:
        x, y = (float(v) for v in m.wcs.world_to_pixel_values(ra, dec))
        if not (0 <= x < nx and 0 <= y < ny):
            continue
        taken.append((x, y))
        r, cy, cx = int(np.ceil(search_px)), round(y), round(x)
        y0, x0 = max(cy - r, 0), max(cx - r, 0)
        win = sig[y0:cy + r + 1, x0:cx + r + 1]
        iy, ix = np.unravel_index(np.argmax(win), win.shape)
        if win[iy, ix] >= threshold:
            found.append(_measure(m, y0 + iy, x0 + ix, name, False))
    peaks = (sig == ndimage.maximum_filter(sig, size=5)) & (sig >= threshold)
    guard = 3 * m.camera.psf_fwhm_deg / m.camera.pix_deg
    new = [(sig[iy, ix], iy, ix) for iy, ix in zip(*np.nonzero(peaks))
           if all(np.hypot(ix - x, iy - y) > guard for x, y in taken)]
    for k, (_s, iy, ix) in enumerate(sorted(new, reverse=True), 1):
        found.append(_measure(m, iy, ix, f"NEW_{k}", True))
    return sorted(found, key=lambda d: -d.significance)


def _hdul_bytes(hdul: fits.HDUList, gz: bool = False) -> bytes:
    buf = io.BytesIO()
    hdul.writeto(buf, output_verify="exception")
    return gzip.compress(buf.getvalue(), compresslevel=1, mtime=0) if gz else buf.getvalue()


def _table(columns: list[tuple], name: str, header: dict) -> fits.BinTableHDU:
    """Binary table from (name, format, unit, array) tuples, with ``header`` cards added."""
    hdu = fits.BinTableHDU.from_columns([fits.Column(n, f, u, array=a) for n, f, u, a in columns], name=name)
    hdu.header.update({"TELESCOP": "INTEGRAL", "HDUCLASS": "OGIP", **header})
    return hdu


def time_keywords(t1_ijd: float, t2_ijd: float, date_obs: str, date_end: str) -> dict:
    """OSA/OGIP time keywords (TSTART/TSTOP in IJD on the TT scale)."""
    return {"MJDREF": (MJDREF, "Modified Julian Date of time origin"), "TIMESYS": ("TT", "Time frame system"),
            "TIMEUNIT": ("d", "Time unit"), "TIMEREF": ("LOCAL", "Time reference frame"),
            "DATE-OBS": (date_obs, "Start of the data (UTC)"), "DATE-END": (date_end, "End of the data (UTC)"),
            "TSTART": (t1_ijd, "[IJD] Start time"), "TSTOP": (t2_ijd, "[IJD] Stop time"),
            "TELAPSE": (round((t2_ijd - t1_ijd) * 86400.0, 3), "[s] Total elapsed time")}


def _wcs_header(w: WCS) -> fits.Header:
    """TAN WCS cards with an explicit CD matrix, as in real OSA mosaics."""
    h = fits.Header()
    for i in (1, 2):
        h.update({f"CTYPE{i}": w.wcs.ctype[i - 1], f"CRPIX{i}": w.wcs.crpix[i - 1], f"CRVAL{i}": w.wcs.crval[i - 1],
                  f"CUNIT{i}": "deg"})
    cd = w.wcs.cd
    h.update({"CD1_1": cd[0, 0], "CD1_2": cd[0, 1], "CD2_1": cd[1, 0], "CD2_2": cd[1, 1], "RADESYS": "FK5",
              "EQUINOX": 2000.0})
    return h


def mosaic_fits(m: Mosaic, keywords: dict) -> bytes:
    """Gzipped OSA mosaic: PRIMARY + four ``<EXTNAME>`` image HDUs (INTENSITY, VARIANCE, SIGNIFICANCE, EXPOSURE)."""
    cam = m.camera
    maps = (("INTENSITY", m.intensity, cam.bunit), ("VARIANCE", m.variance, f"({cam.bunit})**2"),
            ("SIGNIFICANCE", m.significance, ""), ("EXPOSURE", m.exposure, "sec"))
    hdus = [fits.PrimaryHDU()]
    for ver, (imatype, data, bunit) in enumerate(maps, 1):
        hdu = fits.ImageHDU(data, header=_wcs_header(m.wcs), name=cam.extname, ver=ver)
        hdu.header.update({"TELESCOP": "INTEGRAL", "ORIGIN": "SkyGallery", "INSTRUME": cam.instrume,
                           "DETNAM": cam.detnam,
                  "CREATOR": "skygallery.client.sample_files (simulation)", **keywords,
                  "DEADC": (cam.deadc, "Dead-time correction factor"), "BUNIT": (bunit, "Unit for pixel values"),
                  "RADECSYS": ("FK5", "Stellar reference frame"), "HDUCLASS": "OGIP", "HDUCLAS1": "IMAGE",
                  "CHANTYPE": "PI", "E_MIN": (cam.e1_kev, "[keV] Lower energy limit"),
                  "E_MEAN": ((cam.e1_kev + cam.e2_kev) / 2, "[keV] Mean energy"),
                  "E_MAX": (cam.e2_kev, "[keV] Upper energy limit"), "IMATYPE": (imatype, "Type of image")})
        hdus.append(hdu)
    return _hdul_bytes(fits.HDUList(hdus), gz=True)


def region_text(detections: list[Detection], radius_deg: float) -> str:
    """DS9 region file: fk5 circles, catalog sources green, new sources red."""
    lines = ["# Region file format: DS9 version 4.1",
             'global color=green width=1 font="helvetica 10 normal roman"', "fk5"]
    for d in detections:
        colour = "red" if d.new_source else "green"
        lines.append(f"circle({d.ra:.5f},{d.dec:.5f},{radius_deg:.4f}) # color={colour} text={{{d.name}}}")
    return "\n".join(lines) + "\n"


def detections_csv(detections: list[Detection], unit: str) -> str:
    """Detected-source list as CSV: position (deg), flux and error (``unit``), significance (sigma), new flag."""
    rows = [f"name,ra_deg,dec_deg,flux [{unit}],flux_err [{unit}],significance_sigma,new_source"]
    rows += [f"{d.name},{d.ra:.5f},{d.dec:.5f},{d.flux:.6g},{d.flux_err:.4g},{d.significance:.2f},{int(d.new_source)}"
             for d in detections]
    return "\n".join(rows) + "\n"


# --------------------------------------------------------------------------- OGIP light curves and spectra

def variability(kind: str, t_s, span_s: float):
    """Rate multiplier at ``t_s`` s after the start: "const", "wave" (2-h oscillation) or "flare" (fast rise,
    exponential decay, x4.5 at 55 % of the span)."""
    t_s = np.asarray(t_s, float)
    if kind == "flare":
        dt = t_s - 0.55 * span_s
        return 1.0 + 3.5 * np.where(dt < 0, np.exp(-(dt / 900.0) ** 2), np.exp(-np.clip(dt, 0, None) / 2400.0))
    if kind == "wave":
        return 1.0 + 0.25 * np.sin(2 * np.pi * t_s / 7200.0 + 1.0)
    return np.ones_like(t_s)


def lightcurve_fits(time_ijd, timedel_d, rate, error, fracexp, keywords: dict) -> bytes:
    """OGIP/93-003 light curve (extension RATE): TIME (IJD, bin centre), TIMEDEL (d), RATE, ERROR (count/s), FRACEXP."""
    hdu = _table([("TIME", "D", "d", time_ijd), ("TIMEDEL", "D", "d", timedel_d), ("RATE", "E", "count/s", rate),
                  ("ERROR", "E", "count/s", error), ("FRACEXP", "E", None, fracexp)], "RATE",
                 {"HDUCLAS1": "LIGHTCURVE", "HDUCLAS2": "NET", "HDUCLAS3": "RATE", "TIMVERS": "OGIP/93-003",
                  "TIMEZERO": (0.0, "[d]"), "TIMEPIXR": (0.5, "Time stamps are bin centres"),
                  "TASSIGN": "SATELLITE", "EUNIT": "keV", "CREATOR": "skygallery.client.sample_files", **keywords})
    if np.allclose(timedel_d, timedel_d[0]):
        hdu.header["TIMEDEL"] = (float(timedel_d[0]), "[d] Time bin")
    return _hdul_bytes(fits.HDUList([fits.PrimaryHDU(), hdu]))


def isgri_response(n_chan: int = 32, n_energy: int = 160):
    """Small ISGRI-like response: channel bounds (13-1000 keV, log), input grid (12-1100 keV),
    RMF matrix (cm2, effective area times Gaussian redistribution, 8 % FWHM at 60 keV) and a
    low-threshold ARF (dimensionless, peaks at 1, as in real ISGRI files)."""
    from scipy.special import erf
    ch, en = np.geomspace(13.0, 1000.0, n_chan + 1), np.geomspace(12.0, 1100.0, n_energy + 1)
    e = np.sqrt(en[:-1] * en[1:])
    area_cm2 = 1000.0 * (1.0 - np.exp(-(150.0 / e) ** 2.6))  # 2 mm CdTe stops fewer photons above 100 keV
    sigma = 4.8 * np.sqrt(e / 60.0) * FWHM_TO_SIGMA
    cdf = 0.5 * (1 + erf((ch[None, :] - e[:, None]) / (np.sqrt(2) * sigma[:, None])))
    arf = 1.0 / (1.0 + np.exp(-(e - 16.0) / 1.5))
    return ch, en, (np.diff(cdf, axis=1) * area_cm2[:, None]).astype("f4"), arf.astype("f4")


def _photons(index: float, en) -> np.ndarray:
    """Photons/cm2/s per input bin of E**-index (E in keV, normalisation 1 at 1 keV)."""
    return (en[1:] ** (1 - index) - en[:-1] ** (1 - index)) / (1 - index)


def powerlaw_counts(norm: float, index: float, en, matrix, arf) -> np.ndarray:
    """Counts/s per channel of N(E) = norm * E**-index (ph/cm2/s/keV) folded through the response."""
    return (norm * _photons(index, en) * arf) @ matrix


def powerlaw_norm(rate: float, index: float, e1: float, e2: float, en, matrix, arf) -> float:
    """Normalisation (ph/cm2/s/keV at 1 keV) giving ``rate`` counts/s from photons of [e1, e2] keV."""
    centre = np.sqrt(en[:-1] * en[1:])
    inside = (centre >= e1) & (centre <= e2)
    return rate / float((_photons(index, en) * arf * matrix.sum(axis=1))[inside].sum())


def response_files(ch, en, matrix, arf) -> tuple[bytes, bytes]:
    """(RMF, ARF) FITS bytes: SPECRESP MATRIX + EBOUNDS, and SPECRESP."""
    n_e, n_ch = matrix.shape
    common = {"INSTRUME": "IBIS", "DETNAM": "ISGRI", "FILTER": "NONE", "HDUCLAS1": "RESPONSE", "HDUVERS": "1.3.0",
              "CHANTYPE": "PI", "DETCHANS": n_ch}
    grid = [("ENERG_LO", "E", "keV", en[:-1]), ("ENERG_HI", "E", "keV", en[1:])]
    mat = _table(grid + [("N_GRP", "I", None, np.ones(n_e)), ("F_CHAN", "I", None, np.zeros(n_e)),
                         ("N_CHAN", "I", None, np.full(n_e, n_ch)), ("MATRIX", f"{n_ch}E", "cm**2", matrix)],
                 "SPECRESP MATRIX", {**common, "HDUCLAS2": "RSP_MATRIX", "HDUCLAS3": "FULL", "TLMIN4": 0,
                                     "TLMAX4": n_ch - 1, "LO_THRES": 1e-7})
    ebounds = _table([("CHANNEL", "J", None, np.arange(n_ch)), ("E_MIN", "E", "keV", ch[:-1]),
                      ("E_MAX", "E", "keV", ch[1:])], "EBOUNDS",
                     {**common, "HDUCLAS2": "EBOUNDS", "TLMIN1": 0, "TLMAX1": n_ch - 1})
    spec = _table(grid + [("SPECRESP", "E", "cm**2", arf)], "SPECRESP", {**common, "HDUCLAS2": "SPECRESP"})
    return (_hdul_bytes(fits.HDUList([fits.PrimaryHDU(), mat, ebounds])),
            _hdul_bytes(fits.HDUList([fits.PrimaryHDU(), spec])))


def pha_fits(rate, stat_err, quality, exposure_s: float, respfile: str, ancrfile: str, keywords: dict) -> bytes:
    """OGIP PHA type I spectrum (CHANNEL, RATE, STAT_ERR, SYS_ERR, QUALITY, GROUPING)."""
    n = len(rate)
    hdu = _table([("CHANNEL", "I", None, np.arange(n)), ("RATE", "E", "count/s", rate),
                  ("STAT_ERR", "E", "count/s", stat_err), ("SYS_ERR", "E", None, np.zeros(n)),
                  ("QUALITY", "I", None, quality), ("GROUPING", "I", None, np.ones(n))], "SPECTRUM",
                 {"INSTRUME": "IBIS", "DETNAM": "ISGRI", "FILTER": "NONE", "HDUCLAS1": "SPECTRUM",
                  "HDUCLAS2": "TOTAL", "HDUCLAS3": "RATE", "HDUCLAS4": "TYPE:I", "HDUVERS": "1.2.1", "DETCHANS": n,
                  "CHANTYPE": "PI", "POISSERR": False, "EXPOSURE": (exposure_s, "[s] Effective exposure"),
                  "AREASCAL": 1.0, "BACKSCAL": 1.0, "CORRSCAL": 0.0, "BACKFILE": "NONE", "CORRFILE": "NONE",
                  "RESPFILE": respfile, "ANCRFILE": ancrfile, "TLMIN1": 0, "TLMAX1": n - 1,
                  "CREATOR": "skygallery.client.sample_files", **keywords})
    return _hdul_bytes(fits.HDUList([fits.PrimaryHDU(), hdu]))


def mmoda_catalogs(det: list[Detection], psf_fwhm_deg: float, isgri: bool) -> tuple[dict | None, str | None]:
    """MMODA-style fluxed catalog (column -> {row: value}) and source-catalog JSON of an image's detections."""
    import json
    if not det:
        return None, None
    cols = {"ERR_RAD": [round(max(2.8e-4, psf_fwhm_deg / (2 * d.significance)), 6) for d in det],
            "FLAG": [1] * len(det), "FLUX": [d.flux for d in det], "FLUX_ERR": [d.flux_err for d in det],
            "dec": [d.dec for d in det], "meta_ID": list(range(len(det))), "ra": [d.ra for d in det],
            "significance": [d.significance for d in det], "src_names": [d.name for d in det]}
    extra = {"NEW_SOURCE": [1 if d.new_source else -32768 for d in det],
             "ISGRI_FLAG": [0 if d.new_source else 2 for d in det]} if isgri else {}
    cols.update(extra)
    names = ["meta_ID", "src_names", "significance", "ra", "dec", *extra, "FLAG", "ERR_RAD"]
    types = {"src_names": f"<U{max(len(d.name) for d in det)}", "significance": "<f8", "ra": "<f8", "dec": "<f8",
             "ERR_RAD": "<f8"}
    cat = {"cat_frame": "fk5", "cat_coord_units": "deg", "cat_column_list": [cols[n] for n in names],
           "cat_column_names": names, "cat_column_descr": [[n, types.get(n, "<i8")] for n in names],
           "cat_lat_name": "dec", "cat_lon_name": "ra"}
    return {k: dict(enumerate(v)) for k, v in sorted(cols.items())}, json.dumps(cat)


