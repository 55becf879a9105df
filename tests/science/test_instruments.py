"""Instrument geometry: MURA, ISGRI grid and gaps, PIF, coded fraction, JEM-X, mask files."""
from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits

from skygallery.science.instruments import (
    coded_fraction,
    isgri,
    jemx,
    pif,
    read_mask_file,
    spi_acs,
)
from skygallery.science.instruments.mura import (
    mura_basic,
    mura_decoder,
    replicate_cyclic,
)
from skygallery.science.instruments.response import (
    direction_to_offset_mm,
    fully_coded_half_width_deg,
    offset_to_direction_deg,
)


def test_mura_has_delta_autocorrelation_and_half_open():
    a = mura_basic(53)
    corr = np.real(np.fft.ifft2(np.fft.fft2(a) * np.conj(np.fft.fft2(mura_decoder(a)))))
    off_peak = np.abs(corr.ravel()[1:])
    assert corr[0, 0] == pytest.approx((53 * 53 - 1) / 2) and off_peak.max() < 1e-9
    assert a.mean() == pytest.approx((53 ** 2 - 1) / (2 * 53 ** 2))
    with pytest.raises(ValueError, match="order"):
        mura_basic(51)
    big = replicate_cyclic(a, 95, 21)
    np.testing.assert_array_equal(big[21:74, 21:74], a)
    np.testing.assert_array_equal(big[:42], big[53:])


def test_isgri_geometry_numbers():
    inst = isgri()
    assert inst.detector.shape == (134, 130) and inst.detector.valid.sum() == 128 * 128
    assert not inst.detector.valid[32].any() and not inst.detector.valid[:, 65].any()
    assert inst.sky_pixel_deg == pytest.approx(0.0822863, rel=1e-5)       # CD1_1 of real images
    assert 2 * fully_coded_half_width_deg(inst, 1) == pytest.approx(8.3, abs=0.1)
    assert 2 * fully_coded_half_width_deg(inst, 0) == pytest.approx(8.0, abs=0.1)
    assert inst.mask.open_fraction == pytest.approx(0.5, abs=0.002)


def test_pif_on_axis_and_shift_and_gaps():
    inst = isgri()
    on = pif(inst, 0.0, 0.0)
    assert on[~inst.detector.valid].max() == 0
    assert on[inst.detector.valid].mean() == pytest.approx(0.5, abs=0.02)
    # a shift of exactly 5 mask elements (56 mm) moves the shadow by 56/4.6 pixels
    theta = float(offset_to_direction_deg(2 * 11.2 * 2.3, inst.mask.distance_mm))
    assert direction_to_offset_mm(theta, inst.mask.distance_mm) == pytest.approx(51.52)
    shifted = pif(inst, 0.0, theta)
    assert not np.allclose(shifted, on)
    # far off-axis: partially coded, dark outside the mask's shadow
    far = pif(inst, 0.0, 12.0)
    assert 0.05 < far[inst.detector.valid].mean() < 0.3
    with pytest.raises(ValueError, match="theta"):
        direction_to_offset_mm(95.0, 3000.0)


def test_coded_fraction_profile_matches_published_fields():
    inst = isgri()
    cf = coded_fraction(inst, 0.0, np.array([0.0, 3.9, 9.5, 14.6]))
    assert cf[0] == pytest.approx(1.0) and cf[1] == pytest.approx(1.0)
    assert cf[2] == pytest.approx(0.5, abs=0.06)       # half response ~19 deg full width
    assert cf[3] == pytest.approx(0.0, abs=0.01)       # zero response ~29 deg full width


def test_jemx_is_approximate_and_has_its_fields():
    j = jemx(2)
    assert j.approximate and j.extname_prefix == "JMX2"
    inner = j.mask.transmission[np.hypot(*np.meshgrid(*(np.arange(n) - (n - 1) / 2 for n in j.mask.transmission.shape))) < 200]
    assert inner.mean() == pytest.approx(0.25, abs=0.02)
    cf = coded_fraction(j, 0.0, np.array([0.0, 2.3, 6.7]))
    assert cf[0] == pytest.approx(1.0) and cf[1] > 0.99 and cf[2] == 0.0
    with pytest.raises(ValueError, match="unit"):
        jemx(3)
    assert spi_acs().noise_factor == 1.57


def test_user_mask_file_replaces_the_pattern(tmp_path):
    rng = np.random.default_rng(9)
    pattern = (rng.random((95, 95)) < 0.5).astype(np.int16)
    path = tmp_path / "isgr_mask_mod_0001.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(pattern, name="ISGR-MASK-MOD")]).writeto(path)
    inst = isgri(mask_file=path)
    np.testing.assert_array_equal(inst.mask.transmission, pattern)
    assert inst.mask.origin == str(path)
    bad = tmp_path / "bad.fits"
    bad.write_text("nope")
    with pytest.raises(ValueError, match="mask file"):
        read_mask_file(bad)


def test_dead_pixels_zero_the_efficiency():
    inst = isgri()
    dead = np.zeros(inst.detector.shape, bool)
    dead[10, 10] = True
    assert inst.with_dead_pixels(dead).efficiency[10, 10] == 0 and inst.efficiency[10, 10] == 1
    with pytest.raises(ValueError, match="dead_pixels"):
        inst.with_dead_pixels(np.zeros((3, 3), bool))
