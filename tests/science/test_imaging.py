"""Coded-mask imaging: shadowgram binning and balanced FFT decoding (injection-recovery)."""
from __future__ import annotations

import numpy as np
import pytest

from skygallery.science.imaging.decode import decode, decoding_efficiency, sky_shape
from skygallery.science.imaging.shadow import bin_shadowgram, instrument_angles_of_pixel, source_shadow
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
