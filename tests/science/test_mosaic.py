"""Variance-weighted mosaics: synthetic injection and the two real rev-665 OSA ScW images."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from skygallery.science.catalog import load_reference_catalog
from skygallery.science.detect import detect_sources
from skygallery.science.mosaic import make_mosaic
from skygallery.science.osa_images import SkyImages, read_sky_images, write_sky_images
from skygallery.science.sphere import separation_deg

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SCW_FILES = sorted((DATA / "isgri" / "scw").glob("isgri_sky_ima_*.fits.gz")) if DATA.is_dir() else []
needs_real = pytest.mark.skipif(len(SCW_FILES) != 2, reason=f"real rev-665 ScW images not available under {DATA}")
PIX = 0.0822863
CRAB = (83.6332, 22.0145)


def _scw(rng, ra0, dec0, pa_deg, src, flux, n=121, var=0.25, band=(20.0, 40.0), pix=PIX):
    """A rotated ScW-like image set with one Gaussian source of ``flux`` counts/s at ``src``."""
    w = WCS(naxis=2)
    w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    w.wcs.crval = [ra0, dec0]
    w.wcs.crpix = [(n + 1) / 2] * 2
    c, s = math.cos(math.radians(pa_deg)), math.sin(math.radians(pa_deg))
    w.wcs.cd = np.array([[-pix * c, pix * s], [pix * s, pix * c]])
    x, y = w.world_to_pixel_values(*src)
    yy, xx = np.mgrid[0:n, 0:n]
    width = 1.17
    model = flux * np.exp(-0.5 * ((xx - x) ** 2 + (yy - y) ** 2) / width ** 2)
    inten = model + rng.normal(size=(n, n)) * math.sqrt(var)
    variance = np.full((n, n), var)
    hdr = w.to_header()
    hdr["E_MIN"], hdr["E_MAX"], hdr["TSTART"], hdr["TSTOP"], hdr["ONTIME"] = band[0], band[1], 100.0, 100.02, 1800.0
    images = {"INTENSITY": inten, "VARIANCE": variance, "SIGNIFICANCE": inten / math.sqrt(var),
              "EXPOSURE": np.full((n, n), 1800.0)}
    return SkyImages(images=images, header=hdr, extname="ISGR-SKY.-IMA")


def _as_images(result):
    return SkyImages(result.images, result.header + result.wcs.to_header())


def test_mosaic_of_rotated_images_recovers_flux_position_and_halves_variance():
    rng = np.random.default_rng(21)
    src = (266.3, -29.2)
    inputs = [_scw(rng, 266.0, -29.0, 20.0, src, 30.0), _scw(rng, 266.9, -28.5, -35.0, src, 30.0),
              _scw(rng, 265.5, -29.6, 100.0, src, 30.0)]
    result = make_mosaic(inputs)
    assert result.wcs.pixel_scale_matrix[0, 1] == pytest.approx(0.0, abs=1e-9)  # north up
    det = detect_sources(_as_images(result))
    assert len(det) == 1
    assert separation_deg(det[0].ra_deg, det[0].dec_deg, *src) * 60 < 0.5
    assert det[0].fit_flux == pytest.approx(30.0, rel=0.03)
    # FLUX (OSA's definition) is a copy of input peak pixels: between the sampled and the true peak
    assert 0.8 * 30.0 < det[0].flux < 30.0 + 3 * det[0].flux_err
    x, y = (float(v) for v in result.wcs.world_to_pixel_values(*src))
    var_here = result.images["VARIANCE"][round(y), round(x)]
    assert var_here == pytest.approx(0.25 / 3, rel=0.15)  # three inputs overlap: V/3
    assert result.images["EXPOSURE"][round(y), round(x)] == pytest.approx(5400.0, rel=0.01)
    assert result.header["TSTART"] == 100.0 and result.header["ONTIME"] == 5400.0


def test_noise_only_mosaic_significance_is_unit_normal():
    rng = np.random.default_rng(4)
    inputs = [_scw(rng, 10.0 + 0.5 * k, 5.0, 15.0 * k, (0.0, -60.0), 0.0) for k in range(4)]
    result = make_mosaic(inputs, order="nearest-neighbor")
    sig = result.images["SIGNIFICANCE"][result.images["VARIANCE"] > 0]
    assert sig.size > 10000
    assert np.std(sig) == pytest.approx(1.0, abs=0.05) and abs(np.mean(sig)) < 0.05


def test_mosaic_refuses_mixed_bands_and_missing_variance():
    rng = np.random.default_rng(2)
    a = _scw(rng, 10, 5, 0, (10, 5), 5.0)
    b = _scw(rng, 10, 5, 0, (10, 5), 5.0, band=(40.0, 80.0))
    with pytest.raises(ValueError, match="E_MIN"):
        make_mosaic([a, b])
    del b.images["VARIANCE"]
    with pytest.raises(ValueError, match="IMATYPE: no VARIANCE"):
        make_mosaic([a, _scw(rng, 10, 5, 0, (10, 5), 5.0), b])
    with pytest.raises(ValueError, match="images"):
        make_mosaic([])


@needs_real
def test_real_rev665_mosaic_finds_the_crab_with_consistent_flux(tmp_path):
    catalog = load_reference_catalog(None)
    scws = [read_sky_images(f) for f in SCW_FILES]
    per_scw = [next(d for d in detect_sources(s, catalog) if d.name == "Crab") for s in scws]
    result = make_mosaic(scws)
    out = write_sky_images(tmp_path / "m.fits", result.images, result.wcs, result.header, extname="ISGR-MOSA-IMA")
    with fits.open(out) as h:
        assert [x.name for x in h[2:]] == ["ISGR-MOSA-IMA"] * 4
        assert [x.header["IMATYPE"] for x in h[2:]] == ["INTENSITY", "VARIANCE", "SIGNIFICANCE", "EXPOSURE"]
        assert h[2].header["E_MIN"] == 25.0 and h[2].header["BUNIT"] == "counts/sec"
    crab = next(d for d in detect_sources(read_sky_images(out), catalog) if d.name == "Crab")
    assert separation_deg(crab.ra_deg, crab.dec_deg, *CRAB) * 60 < 1.5
    # FLUX is OSA's intensity at the source pixel: per ScW exactly the values OSA quotes
    assert [round(d.flux) for d in per_scw] == [169, 187] and [round(d.detsig) for d in per_scw] == [147, 163]
    weights = [1 / (f / s) ** 2 for f, s in ((169.0, 147.0), (187.0, 163.0))]
    osa_mean = (weights[0] * 169.0 + weights[1] * 187.0) / sum(weights)
    assert crab.flux == pytest.approx(osa_mean, rel=0.03)
    assert crab.flux / crab.flux_err == pytest.approx(crab.detsig, rel=1e-5)
    assert crab.detsig > max(d.detsig for d in per_scw)


@pytest.mark.parametrize("order", ["nearest-neighbor", "bilinear"])
@pytest.mark.parametrize("pa", [0.0, 33.0, 217.0])
def test_closed_form_resampling_matches_reproject(order, pa):
    from reproject import reproject_interp
    rng = np.random.default_rng(12)
    im = _scw(rng, 200.0, -40.0, pa, (200.3, -40.2), 20.0, n=91)
    result = make_mosaic([im], order=order)
    ny, nx = result.images["INTENSITY"].shape
    ref, _ = reproject_interp((im.get("INTENSITY"), im.wcs), result.wcs, shape_out=(ny, nx), order=order)
    inside = np.isfinite(ref)
    inside[[0, -1], :] = inside[:, [0, -1]] = False
    ours = result.images["INTENSITY"]
    # nearest-neighbour: identical but for rounding ties; bilinear: reproject's own arithmetic
    # differs from the exact bilinear formula by ≲ 1e-4 of the peak
    tol = 1e-6 if order == "nearest-neighbor" else 5e-3
    close = np.isclose(ours[inside], ref[inside], rtol=0, atol=tol)
    assert inside.sum() > 0.5 * 91 * 91 * 4 and close.mean() > 0.9995
    assert np.all(result.images["VARIANCE"][inside] > 0)


def test_default_mosaic_pixel_is_a_quarter_of_the_native_pixel():
    from skygallery.science.mosaic import default_pixel_deg
    rng = np.random.default_rng(1)
    osa = _scw(rng, 10.0, 5.0, 0.0, (10.0, 5.0), 5.0, n=21)
    ours = _scw(rng, 10.0, 5.0, 0.0, (10.0, 5.0), 5.0, n=21, pix=PIX / 2)
    ours.header["OVERSAMP"] = 2
    assert default_pixel_deg([osa]) == pytest.approx(PIX / 4)
    assert default_pixel_deg([ours]) == pytest.approx(PIX / 4)
    assert default_pixel_deg([osa, ours]) == pytest.approx(PIX / 4)
