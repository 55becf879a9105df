"""PNG previews made on ingest (services/previews.py) and the FITS readers behind them (services/fitsdata.py):
synthetic OSA/OGIP files built here and the real INTEGRAL files of ../shared/data."""
from __future__ import annotations

import gzip
import io
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from PIL import Image

from skygallery.gallery.services import fitsdata, previews
from skygallery.gallery.services.previews import HEIGHT_PX, WIDTH_PX, make_preview

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
realdata = pytest.mark.skipif(not SHARED.is_dir(), reason=f"real INTEGRAL files not present at {SHARED}")
REAL_MOSAIC = SHARED / "isgri" / "mosaic" / "isgri_mosa_ima_1.fits.gz"
REAL_SCW = SHARED / "isgri" / "scw" / "isgri_sky_ima_066500280010.fits.gz"
REAL_PHA = SHARED / "isgri" / "spectrum" / "isgri_spectrum_1A0535.fits.gz"
REAL_RMF = SHARED / "isgri" / "spectrum" / "isgri_rmf.fits.gz"
REAL_ARF = SHARED / "isgri" / "spectrum" / "isgri_arf.fits.gz"
REAL_JEMX = SHARED / "jemx" / "jemx1_lc_crab_010200230010.fits.gz"
REAL_ACS = SHARED / "spiacs" / "spiacs_lc_grb230307a.fits"
CRAB = (83.633, 22.014)
CRAB_LB = (184.5575, -5.7843)  # Galactic l, b of the Crab [deg]


# --- synthetic files (also used by test_plots.py) ------------------------------------------------

def _write(hdus: list, path: Path, gz: bool = False) -> Path:
    buf = io.BytesIO()
    fits.HDUList(hdus).writeto(buf)
    path.write_bytes(gzip.compress(buf.getvalue(), mtime=0) if gz else buf.getvalue())
    return path


def write_mosaic(path: Path, shape=(180, 200), gz: bool = False, wcs: bool = True, galactic: bool = False) -> Path:
    """An OSA-like mosaic: 4 ISGR-MOSA-IMA HDUs (INTENSITY, VARIANCE, SIGNIFICANCE, EXPOSURE), a TAN WCS
    (RA/Dec, or Galactic with ``galactic``) centred on the Crab, a 50σ source 10 pixels from the centre
    and a 10-pixel unexposed border."""
    ny, nx = shape
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:ny, 0:nx]
    src = np.exp(-((xx - (nx / 2 - 10)) ** 2 + (yy - ny / 2) ** 2) / (2 * 1.2 ** 2))
    exposure = np.full(shape, 2000.0)
    exposure[:10], exposure[-10:], exposure[:, :10], exposure[:, -10:] = 0, 0, 0, 0
    sig = rng.normal(0, 1, shape) + 50 * src
    maps = {"INTENSITY": sig * 0.1, "VARIANCE": np.full(shape, 0.01), "SIGNIFICANCE": sig, "EXPOSURE": exposure}
    hdus = [fits.PrimaryHDU()]
    for imatype, data in maps.items():
        hdu = fits.ImageHDU(np.where(exposure > 0, data, 0).astype("float32"), name="ISGR-MOSA-IMA")
        hdu.header.update(IMATYPE=imatype, E_MIN=28.0, E_MAX=40.0, MJDREF=51544.0, RADECSYS="FK5", EQUINOX=2000.0)
        if wcs:
            axes = ("GLON-TAN", "GLAT-TAN", *CRAB_LB) if galactic else ("RA---TAN", "DEC--TAN", *CRAB)
            hdu.header.update(CTYPE1=axes[0], CTYPE2=axes[1], CRPIX1=nx / 2 + 1, CRPIX2=ny / 2 + 1, CRVAL1=axes[2],
                              CRVAL2=axes[3], CD1_1=-0.0822863, CD2_2=0.0822863, CD1_2=0.0, CD2_1=0.0)
        hdus.append(hdu)
    return _write(hdus, path, gz)


def write_lightcurve(path: Path, n: int = 50, ijd0: float = 8000.0, timedel_s: float = 1000.0,
                     seconds: bool = False, gz: bool = False) -> Path:
    """An OGIP RATE table: TIME in IJD days (TIMEDEL column in s) or, with ``seconds``, TIME in s relative
    to TIMEZERO (s since MJDREF) with a TIMEDEL keyword."""
    rng = np.random.default_rng(3)
    rate = 50 + 5 * np.sin(np.arange(n) / 5) + rng.normal(0, 1, n)
    if seconds:
        time_col = fits.Column("TIME", "D", unit="s", array=(np.arange(n) - n / 2) * timedel_s)
        extra = []
    else:
        time_col = fits.Column("TIME", "D", unit="d", array=ijd0 + (np.arange(n) + 0.5) * timedel_s / 86400)
        extra = [fits.Column("TIMEDEL", "D", unit="s", array=np.full(n, timedel_s))]
    cols = [time_col, fits.Column("RATE", "E", unit="count/s", array=rate),
            fits.Column("ERROR", "E", unit="count/s", array=np.full(n, 1.0)),
            fits.Column("FRACEXP", "E", array=np.ones(n))] + extra
    hdu = fits.BinTableHDU.from_columns(cols, name="RATE")
    hdu.header.update(HDUCLAS1="LIGHTCURVE", TELESCOP="INTEGRAL", INSTRUME="IBIS", NAME="Crab", MJDREF=51544.0,
                      TIMESYS="TT", TIMEUNIT="s" if seconds else "d", E_MIN=28.0, E_MAX=40.0)
    if seconds:
        hdu.header.update(TIMEZERO=ijd0 * 86400.0, TIMEDEL=timedel_s)
    return _write([fits.PrimaryHDU(), hdu], path, gz)


def write_pha(path: Path, nchan: int = 64, gz: bool = False) -> Path:
    """An OGIP PHA-I (RATE, STAT_ERR, QUALITY; channel 0 flagged bad) of a power law; spectrum of write_rmf."""
    channel = np.arange(nchan)
    e_lo, e_hi = _ebounds(nchan)
    rate = 10 * ((e_lo + e_hi) / 2 / 20.0) ** -2 * (e_hi - e_lo)
    quality = np.zeros(nchan, int)
    quality[0] = 5
    hdu = fits.BinTableHDU.from_columns([
        fits.Column("CHANNEL", "I", array=channel), fits.Column("RATE", "E", unit="count/s", array=rate),
        fits.Column("STAT_ERR", "E", unit="count/s", array=0.1 * rate),
        fits.Column("QUALITY", "I", array=quality)], name="SPECTRUM")
    hdu.header.update(HDUCLASS="OGIP", HDUCLAS1="SPECTRUM", HDUCLAS3="RATE", EXPOSURE=10000.0, DETCHANS=nchan,
                      NAME="Crab", INSTRUME="IBIS", RESPFILE="synthetic_rmf.fits")
    return _write([fits.PrimaryHDU(), hdu], path, gz)


def _ebounds(nchan: int) -> tuple[np.ndarray, np.ndarray]:
    edges = np.geomspace(15.0, 1000.0, nchan + 1)
    return edges[:-1], edges[1:]


def write_rmf(path: Path, nchan: int = 64) -> Path:
    """An RMF with a diagonal SPECRESP MATRIX and an EBOUNDS table (keV) matching write_pha."""
    e_lo, e_hi = _ebounds(nchan)
    ebounds = fits.BinTableHDU.from_columns([
        fits.Column("CHANNEL", "J", array=np.arange(nchan)), fits.Column("E_MIN", "E", unit="keV", array=e_lo),
        fits.Column("E_MAX", "E", unit="keV", array=e_hi)], name="EBOUNDS")
    ebounds.header.update(HDUCLAS1="RESPONSE", HDUCLAS2="EBOUNDS")
    matrix = fits.BinTableHDU.from_columns([
        fits.Column("ENERG_LO", "E", array=e_lo), fits.Column("ENERG_HI", "E", array=e_hi),
        fits.Column("N_GRP", "I", array=np.ones(nchan)), fits.Column("F_CHAN", "I", array=np.arange(nchan)),
        fits.Column("N_CHAN", "I", array=np.ones(nchan)), fits.Column("MATRIX", "E", array=np.full(nchan, 100.0))],
        name="MATRIX")
    return _write([fits.PrimaryHDU(), ebounds, matrix], path)


def assert_png(data: bytes | None) -> np.ndarray:
    """A valid PNG of WIDTH_PX × HEIGHT_PX (IHDR and PIL agree) whose pixels are not constant."""
    assert data is not None
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    assert struct.unpack(">II", data[16:24]) == (WIDTH_PX, HEIGHT_PX)
    image = Image.open(io.BytesIO(data))
    image.verify()
    pixels = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    assert pixels.shape == (HEIGHT_PX, WIDTH_PX, 3)
    assert pixels.std() > 5 and len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50
    return pixels


# --- sky images ----------------------------------------------------------------------------------

def test_significance_hdu_is_found_among_the_four_imatypes(tmp_path):
    path = write_mosaic(tmp_path / "mosa.fits")
    with fitsdata.open_fits(path) as hdul:
        assert fitsdata.find_significance_hdu(hdul).header["IMATYPE"] == "SIGNIFICANCE"
    image = fitsdata.read_sky_image(path)
    assert image.imatype == "SIGNIFICANCE" and image.unit == "σ" and image.data.shape == (180, 200)
    assert np.nanmax(image.data) > 40
    assert np.isnan(image.data[:10]).all() and np.isfinite(image.data[50, 50])  # unexposed border masked
    ra, dec = image.wcs.pixel_to_world_values(100, 90)
    assert (ra, dec) == pytest.approx(CRAB, abs=1e-6)


def test_mosaic_preview_with_detected_sources(tmp_path):
    path = write_mosaic(tmp_path / "mosa.fits.gz", gz=True)
    plain = assert_png(make_preview([path], "image", "Crab mosaic"))
    detected = [{"name": "Crab", "ra": CRAB[0], "dec": CRAB[1], "new_source": False},
                {"name": "NEW 1", "ra": CRAB[0] - 2, "dec": CRAB[1] + 1, "new_source": True},
                {"name": "far away", "ra": 250.0, "dec": -40.0}, {"name": "broken", "ra": "x"}]
    marked = assert_png(make_preview([path], "image", "Crab mosaic", detected))
    assert (plain != marked).any(axis=2).sum() > 100


def test_galactic_mosaic_marks_sources_given_in_ra_dec(tmp_path):
    path = write_mosaic(tmp_path / "gal.fits", galactic=True)
    image = fitsdata.read_sky_image(path)
    assert image.wcs.wcs.lngtyp == "GLON"
    plain = assert_png(make_preview([path], "image"))
    marked = assert_png(make_preview([path], "image", detected=[{"name": "Crab", "ra": CRAB[0], "dec": CRAB[1]}]))
    assert (plain != marked).any(axis=2).sum() > 100


def test_large_map_is_decimated_and_stays_fast(tmp_path):
    path = write_mosaic(tmp_path / "big.fits", shape=(1300, 1100))
    image = fitsdata.read_sky_image(path)
    small = previews._decimate(image)  # every 2nd pixel: the WCS must follow (CD matrix scaled)
    assert small.data.shape == (650, 550) and small.data[15, 20] == image.data[30, 40]
    assert np.allclose(small.wcs.pixel_to_world_values(20, 15), image.wcs.pixel_to_world_values(40, 30))
    start = time.perf_counter()
    assert_png(make_preview([path], "image", detected=[{"name": "Crab", "ra": CRAB[0], "dec": CRAB[1]}]))
    print(f"\npreview of a 1100×1300 map: {time.perf_counter() - start:.2f} s")


def test_image_without_imatype_or_wcs_uses_first_2d_image(tmp_path):
    data = np.random.default_rng(1).normal(0, 1, (64, 80)).astype("float32")
    table = fits.BinTableHDU.from_columns([fits.Column("A", "E", array=np.zeros(3))])
    path = _write([fits.PrimaryHDU(), table, fits.ImageHDU(data), fits.ImageHDU(data * 0)], tmp_path / "x.fits")
    image = fitsdata.read_sky_image(path)
    assert image.wcs is None and np.array_equal(image.data, data)
    assert_png(make_preview([path], "image", detected=[{"name": "Crab", "ra": 83.6, "dec": 22.0}]))


# --- light curves --------------------------------------------------------------------------------

def test_lightcurve_in_ijd_days_short_curve_in_seconds(tmp_path):
    lc = fitsdata.read_lightcurve(write_lightcurve(tmp_path / "lc.fits", n=50, timedel_s=1000.0))
    assert lc.time_unit == "s" and len(lc.time) == 50
    assert lc.time[0] == pytest.approx(500.0, abs=1e-3) and np.diff(lc.time) == pytest.approx(1000.0, abs=1e-3)
    assert lc.t0_mjd == pytest.approx(51544.0 + 8000.0)
    assert "MJD 59544.000000" in lc.time_label and lc.time_label.endswith("[s]")
    assert np.all(lc.bin_s == 1000.0) and np.all(lc.error == 1.0)


def test_long_lightcurve_in_mjd(tmp_path):
    lc = fitsdata.read_lightcurve(write_lightcurve(tmp_path / "lc.fits", n=40, timedel_s=86400.0))
    assert lc.time_unit == "d" and lc.time_label == "Time [MJD (TT)]"
    assert lc.time[0] == pytest.approx(59544.5) and lc.half_width[0] == pytest.approx(0.5)


def test_lightcurve_in_seconds_from_timezero(tmp_path):
    lc = fitsdata.read_lightcurve(write_lightcurve(tmp_path / "lc.fits", n=100, timedel_s=0.5, seconds=True))
    assert lc.time_unit == "s" and lc.time[0] == pytest.approx(-25.0) and lc.half_width[0] == 0.25
    assert lc.t0_mjd == pytest.approx(59544.0)


def test_lightcurve_preview(tmp_path):
    one = write_lightcurve(tmp_path / "a.fits.gz", gz=True)
    two = write_lightcurve(tmp_path / "b.fits", ijd0=8000.5)
    assert_png(make_preview([one], "lightcurve", "Crab 28–40 keV"))
    assert_png(make_preview([one, two], "lightcurve"))
    assert len(fitsdata.common_time_axis([fitsdata.read_lightcurve(p) for p in (one, two)])) == 2


# --- spectra -------------------------------------------------------------------------------------

def test_spectrum_reader_with_and_without_ebounds(tmp_path):
    pha, rmf = write_pha(tmp_path / "pha.fits"), write_rmf(tmp_path / "synthetic_rmf.fits")
    with_energy = fitsdata.read_spectrum(pha, rmf)
    e_lo, e_hi = _ebounds(64)
    assert with_energy.has_energy and len(with_energy.x) == 63  # channel 0 has QUALITY 5
    assert with_energy.lo == pytest.approx(e_lo[1:]) and with_energy.hi == pytest.approx(e_hi[1:])
    expected = 10 * ((e_lo[1:] + e_hi[1:]) / 2 / 20.0) ** -2  # counts/s/keV
    assert with_energy.rate == pytest.approx(expected, rel=1e-5)
    per_channel = fitsdata.read_spectrum(pha)
    assert not per_channel.has_energy and per_channel.x[0] == 1 and per_channel.x_label == "Channel"
    assert fitsdata.find_spectrum_files([rmf, tmp_path / "nothing", pha]) == (pha, rmf)


def test_spectrum_preview(tmp_path):
    pha, rmf = write_pha(tmp_path / "pha.fits.gz", gz=True), write_rmf(tmp_path / "rmf.fits")
    assert_png(make_preview([rmf, pha], "spectrum", "Crab spectrum"))
    assert_png(make_preview([pha], "spectrum"))


# --- files that cannot be understood -------------------------------------------------------------

@pytest.mark.parametrize("family", ["image", "lightcurve", "spectrum", "other"])
def test_garbage_gives_none(tmp_path, family):
    garbage = tmp_path / "garbage.fits"
    garbage.write_bytes(b"SIMPLE  = this is not FITS at all" * 40)
    truncated = tmp_path / "truncated.fits.gz"
    truncated.write_bytes(write_mosaic(tmp_path / "m.fits.gz", gz=True).read_bytes()[:3000])
    empty = _write([fits.PrimaryHDU()], tmp_path / "empty.fits")
    paths = [garbage, truncated, empty, tmp_path / "missing.fits"]
    assert make_preview(paths, family) is None
    assert make_preview([], family) is None
    assert fitsdata.read_sky_image(garbage) is None and fitsdata.read_lightcurve(garbage) is None
    assert fitsdata.read_spectrum(garbage, garbage) is None and fitsdata.classify(garbage) is None


def test_wrong_family_gives_none_and_other_detects_the_kind(tmp_path):
    lc = write_lightcurve(tmp_path / "lc.fits")
    assert make_preview([lc], "image") is None
    assert_png(make_preview([lc], "other"))
    assert [fitsdata.classify(p) for p in (lc, write_mosaic(tmp_path / "m.fits"), write_pha(tmp_path / "p.fits"),
                                           write_rmf(tmp_path / "r.fits"))] == [
        "lightcurve", "image", "spectrum", "response"]


def test_previews_in_threads(tmp_path):
    paths = [write_mosaic(tmp_path / "m.fits"), write_lightcurve(tmp_path / "lc.fits")]
    jobs = [(paths[i % 2], "image" if i % 2 == 0 else "lightcurve") for i in range(4)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda job: make_preview([job[0]], job[1], f"thread {job[1]}"), jobs))
    for png in results:
        assert_png(png)
    assert results[0] == results[2]


# --- real INTEGRAL files -------------------------------------------------------------------------

@realdata
def test_real_mosaic_preview_and_timing():
    image = fitsdata.read_sky_image(REAL_MOSAIC)
    assert image.data.shape == (529, 543) and image.wcs is not None and np.nanmax(image.data) > 100
    detected = [{"name": "4U 1700-377", "ra": 255.98646, "dec": -37.84414, "new_source": False},
                {"name": "OAO 1657-415", "ra": 255.2038, "dec": -41.6560, "new_source": False}]
    make_preview([REAL_MOSAIC], "image")  # warm-up: font cache, first imports
    start = time.perf_counter()
    png = make_preview([REAL_MOSAIC], "image", "Galactic centre 20–40 keV", detected)
    print(f"\npreview of the real 543×529 mosaic: {time.perf_counter() - start:.2f} s (target < 2 s)")
    assert_png(png)


@realdata
def test_real_scw_image_preview():
    image = fitsdata.read_sky_image(REAL_SCW)
    assert image.data.shape == (400, 400) and image.e_min == 25 and image.e_max == 80
    assert_png(make_preview([REAL_SCW], "image", detected=[{"name": "Crab", "ra": CRAB[0], "dec": CRAB[1]}]))


@realdata
def test_real_spectrum_energy_axis_and_preview():
    spectrum = fitsdata.read_spectrum(REAL_PHA, REAL_RMF)
    assert spectrum.has_energy and spectrum.exposure_s == pytest.approx(33904.5, abs=1)
    assert 15 <= spectrum.lo.min() and spectrum.hi.max() <= 1100 and spectrum.x.min() < 40
    assert np.all(np.isfinite(spectrum.rate)) and np.all(spectrum.error >= 0)
    assert fitsdata.find_spectrum_files([REAL_ARF, REAL_RMF, REAL_PHA]) == (REAL_PHA, REAL_RMF)
    assert_png(make_preview([REAL_ARF, REAL_RMF, REAL_PHA], "spectrum", "1A 0535+262"))


@realdata
def test_real_jemx_lightcurve():
    lc = fitsdata.read_lightcurve(REAL_JEMX)
    assert len(lc.time) == 96 and lc.time_unit == "s" and np.allclose(lc.bin_s, 20.0, atol=1e-3)
    assert lc.t0_mjd == pytest.approx(51544.0 + 1322.7189, abs=1e-3)
    assert 100 < np.median(lc.rate) < 170 and "JMX1" in lc.name
    assert_png(make_preview([REAL_JEMX], "lightcurve"))


@realdata
def test_real_spiacs_lightcurve():
    lc = fitsdata.read_lightcurve(REAL_ACS)
    assert len(lc.time) == 5400 and lc.time_unit == "s" and lc.bin_s[0] == pytest.approx(0.1)
    assert lc.t0_mjd == pytest.approx(51544.0 + 731519205.1627802 / 86400.0)
    assert -300 < lc.time.min() < lc.time.max() < 300 and lc.rate.max() > 1e6  # GRB 230307A peak
    assert_png(make_preview([REAL_ACS], "lightcurve", "GRB 230307A"))
