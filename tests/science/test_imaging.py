"""Coded-mask imaging: shadowgram binning and balanced FFT decoding (injection-recovery)."""
from __future__ import annotations

import numpy as np
import pytest

from skygallery.science.imaging.decode import decode, decoding_efficiency, sky_shape
from skygallery.science.imaging.shadow import (
    bin_shadowgram,
    instrument_angles_of_pixel,
    source_shadow,
)
from skygallery.science.instruments import isgri, jemx

T_S = 2000.0


def _simulate(inst, rng, sources, background_per_pixel):
    """Poisson shadowgram with sources given as (sky_y, sky_x, rate counts/s) on the decoded grid."""
    shape = sky_shape(inst)
    expected = background_per_pixel * inst.efficiency
    for sy, sx, rate in sources:
        expected = expected + source_shadow(inst, *instrument_angles_of_pixel(inst, sy, sx, shape), rate, T_S)
    return rng.poisson(expected).astype(float)


@pytest.mark.parametrize("factory,background", [(isgri, 300.0), (jemx, 30.0)])
def test_injected_sources_decode_to_their_rates_and_positions(factory, background):
    inst = factory()
    rng = np.random.default_rng(17)
    c = (sky_shape(inst)[0] - 1) // 2
    sources = [(c + 20, c - 7, 100.0), (c - 30, c + 25, 12.0)]
    image = decode(_simulate(inst, rng, sources, background), inst, T_S)
    for sy, sx, rate in sources:
        err = np.sqrt(image.variance[sy, sx])
        assert abs(image.intensity[sy, sx] - rate) < 3.5 * err
        window = image.significance[sy - 3:sy + 4, sx - 3:sx + 4]
        assert np.unravel_index(np.argmax(window), window.shape) == (3, 3)   # peak on the true pixel
    assert image.significance[sources[0][:2]] > 50


@pytest.mark.parametrize("factory,background", [(isgri, 300.0), (jemx, 30.0)])
def test_background_only_significance_is_unit_normal_and_balanced(factory, background):
    inst = factory()
    rng = np.random.default_rng(23)
    image = decode(rng.poisson(background * inst.efficiency).astype(float), inst, T_S)
    sig = image.significance[image.coded_fraction > 0.05]
    assert 0.95 <= np.std(sig) <= 1.05
    assert abs(np.mean(sig)) < 0.05
    # a perfectly flat background decodes to zero everywhere (balanced correlation)
    flat = decode(background * inst.efficiency, inst, T_S)
    assert np.abs(flat.intensity).max() < 1e-6 * background


def test_decoding_efficiency_and_exposure_map():
    inst = isgri()
    assert 0.6 < decoding_efficiency(inst) < 0.9
    image = decode(np.zeros(inst.detector.shape), inst, T_S)
    cy, cx = image.centre
    assert image.exposure[cy, cx] == pytest.approx(T_S) and image.exposure[0, 0] == 0.0
    assert image.pixel_deg == pytest.approx(0.0822863, rel=1e-5)


def test_bin_shadowgram_and_errors():
    inst = isgri()
    y = np.array([0, 0, 5, 133, 200])
    x = np.array([0, 0, 7, 129, 3])
    e = np.array([30.0, 50.0, 30.0, 35.0, 30.0])
    sg = bin_shadowgram(y, x, e, (25.0, 40.0), inst.detector.shape)
    assert sg[0, 0] == 1 and sg[5, 7] == 1 and sg[133, 129] == 1 and sg.sum() == 3
    with pytest.raises(ValueError, match="E_MIN"):
        bin_shadowgram(y, x, e, (40.0, 25.0), inst.detector.shape)
    with pytest.raises(ValueError, match="shadowgram"):
        decode(np.zeros((10, 10)), inst, T_S)
    with pytest.raises(ValueError, match="exposure_s"):
        decode(np.zeros(inst.detector.shape), inst, 0.0)


@pytest.mark.parametrize("factory", [isgri, jemx])
def test_oversampled_grid_contains_the_native_one_and_keeps_the_axis_at_the_centre(factory):
    inst = factory()
    rng = np.random.default_rng(5)
    shadow = rng.poisson(20.0 * inst.efficiency).astype(float)
    native, fine = decode(shadow, inst, T_S), decode(shadow, inst, T_S, oversample=2)
    assert fine.intensity.shape == tuple(2 * n - 1 for n in native.intensity.shape)
    assert fine.pixel_deg == pytest.approx(native.pixel_deg / 2)
    np.testing.assert_allclose(fine.intensity[::2, ::2], native.intensity, atol=1e-9)
    np.testing.assert_allclose(fine.variance[::2, ::2], native.variance, rtol=1e-9, atol=1e-12)
    # a source half a native pixel off a pixel centre sits on a fine pixel: the fine peak is there
    # and close to the rate, the native grid misses it by ~10 % or more (the lobe's cusp)
    shape = sky_shape(inst)
    c = (shape[0] - 1) // 2
    sy, sx = c + 10.5, c - 20.0
    shadow = source_shadow(inst, *instrument_angles_of_pixel(inst, sy, sx, shape), 50.0, T_S)
    image = decode(shadow, inst, T_S, oversample=2).intensity
    fy, fx = int(2 * sy), int(2 * sx)
    window = image[fy - 4:fy + 5, fx - 4:fx + 5]
    assert np.unravel_index(np.argmax(window), window.shape) == (4, 4)
    assert image[fy, fx] == pytest.approx(50.0, rel=0.05)
    assert decode(shadow, inst, T_S).intensity[int(sy), int(sx)] < 0.92 * image[fy, fx]


def test_variance_from_expected_counts_avoids_spikes_where_few_pixels_see_the_sky():
    inst = jemx()
    rng = np.random.default_rng(9)
    expected = 0.5 * inst.efficiency          # JEM-X-like: about one count in two pixels
    stats = {}
    for name, counts in (("data", None), ("model", expected)):
        sig = []
        for _ in range(3):
            image = decode(rng.poisson(expected).astype(float), inst, T_S, variance_counts=counts)
            low = (image.coded_fraction > 0.01) & (image.coded_fraction < 0.1)
            sig.append(image.significance[low])
        sig = np.concatenate(sig)
        stats[name] = (sig.size, np.std(sig), int((np.abs(sig) > 5).sum()))
    # with the noisy counts the variance collapses where the few contributing pixels are empty
    assert stats["data"][1] > 2.0 and stats["data"][2] > 100
    assert stats["model"][0] > 30000 and 0.95 <= stats["model"][1] <= 1.05 and stats["model"][2] <= 3


def test_cleaning_removes_ghosts_fits_edge_sources_and_restores_rates_at_the_source_pixel():
    from skygallery.science.attitude import Pointing, scw_wcs
    from skygallery.science.catalog import CatalogIndex, CatalogSource
    from skygallery.science.imaging.clean import CleanConfig, clean_scw
    from skygallery.science.instruments.response import coded_fraction
    inst = isgri()
    shape = sky_shape(inst)
    c = (shape[0] - 1) // 2, (shape[1] - 1) // 2
    pointing = Pointing(100.0, 20.0, 30.0)
    wcs = scw_wcs(pointing, shape, inst.sky_pixel_deg)
    # A: bright, partially coded, its MURA ghost 129 pixels away lands inside the field;
    # B: faint; C: bright at the very edge of the field (coded fraction ~2 %)
    truth = {"A": (c[0], c[1] + 100, 200.0), "B": (c[0] + 40.3, c[1] - 60.6, 5.0), "C": (c[0] - 20, c[1] + 177, 300.0)}
    rng = np.random.default_rng(31)
    expected = 200.0 * inst.efficiency
    sources = []
    for name, (sy, sx, rate) in truth.items():
        ty, tx = instrument_angles_of_pixel(inst, sy, sx, shape)
        expected = expected + source_shadow(inst, ty, tx, rate, T_S)
        ra, dec = (float(v) for v in wcs.pixel_to_world_values(sx, sy))
        sources.append(CatalogSource(name, ra % 360.0, dec, "X", ()))
        if name == "C":
            assert 0.002 < float(coded_fraction(inst, ty, tx)) < 0.05
    shadowgram = rng.poisson(expected).astype(float)
    raw = decode(shadowgram, inst, T_S)
    ghost = (c[0], c[1] + 100 - 129)
    assert raw.significance[ghost] > 20
    result = clean_scw(shadowgram, inst, T_S, pointing, CatalogIndex(sources), CleanConfig())
    fitted = {s.name: s for s in result.sources}
    assert set(fitted) == {"A", "B", "C"}                   # no spurious excess from C or the ghost
    for name, (_, _, rate) in truth.items():
        assert abs(fitted[name].rate - rate) < 4 * fitted[name].rate_err
    dec = result.decoded
    assert dec.oversample == 2 and dec.intensity.shape == sky_shape(inst, 2)
    fine_sig = np.where(dec.variance > 0, result.residual / np.sqrt(np.where(dec.variance > 0, dec.variance, 1)), 0)
    assert abs(fine_sig[2 * ghost[0], 2 * ghost[1]]) < 5
    for name in ("A", "B"):
        sy, sx, _ = truth[name]
        iy, ix = round(2 * sy), round(2 * sx)
        assert dec.intensity[iy, ix] - result.residual[iy, ix] == pytest.approx(fitted[name].rate, rel=1e-9)
