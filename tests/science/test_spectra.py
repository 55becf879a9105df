"""OGIP spectra and responses: real-file round trips, generated responses, PHA I/II, combination."""
from __future__ import annotations

import math
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from skygallery.science.extract import ScwRates
from skygallery.science.responses import (
    make_response,
    read_arf,
    read_rmf,
    write_arf,
    write_rmf,
)
from skygallery.science.simulate.sky import (
    CRAB_INDEX,
    CRAB_K,
    ISGRI_RESPONSE,
    JEMX_RESPONSE,
    band_rate,
)
from skygallery.science.specmodels import FoldingResponse
from skygallery.science.spectra import (
    combine_scw_rates,
    read_pha,
    read_pha2,
    spectrum_from_rates,
    write_pha,
    write_pha2,
)

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "isgri" / "spectrum"
needs_real = pytest.mark.skipif(not DATA.is_dir(), reason=f"real ISGRI spectrum/RMF/ARF not available at {DATA}")
REAL = {"pha": "isgri_spectrum_1A0535.fits.gz", "rmf": "isgri_rmf.fits.gz", "arf": "isgri_arf.fits.gz"}


def _cards(header: fits.Header) -> list[tuple[str, object, str]]:
    """Keyword, value and comment of every card except the checksums (recomputed on writing)."""
    return sorted((c.keyword, str(c.value), c.comment) for c in header.cards if c.keyword not in ("CHECKSUM", "DATASUM"))


def _assert_same_file(original: Path, copy: Path) -> None:
    with fits.open(original) as a, fits.open(copy) as b:
        assert [h.name for h in a] == [h.name for h in b]
        for x, y in zip(a, b):
            assert _cards(x.header) == _cards(y.header), x.name
            if isinstance(x, fits.BinTableHDU):
                assert x.columns.names == y.columns.names
                assert [c.format for c in x.columns] == [c.format for c in y.columns]
                assert [c.unit for c in x.columns] == [c.unit for c in y.columns]
                for name in x.columns.names:
                    assert np.array_equal(np.asarray(x.data[name]), np.asarray(y.data[name]), equal_nan=True), name


@needs_real
@pytest.mark.parametrize("kind", ["pha", "rmf", "arf"])
def test_real_isgri_files_round_trip_unchanged(tmp_path, kind):
    """Read and rewrite the real OSA 11 files: same HDUs, keywords (values and comments), columns,
    formats, units and values (checksums recomputed)."""
    src = DATA / REAL[kind]
    out = tmp_path / f"copy_{kind}.fits"
    if kind == "pha":
        write_pha(out, read_pha(src))
    elif kind == "rmf":
        write_rmf(out, read_rmf(src))
    else:
        write_arf(out, read_arf(src))
    _assert_same_file(src, out)


@needs_real
def test_real_files_read_as_expected():
    pha, rmf, arf = read_pha(DATA / REAL["pha"]), read_rmf(DATA / REAL["rmf"]), read_arf(DATA / REAL["arf"])
    assert pha.channel.size == 256 and pha.exposure == pytest.approx(33904.5136, rel=1e-6) and not pha.poisson
    assert pha.respfile == "rmf_sum_1A_0535+262.fits" and pha.quality[:22].tolist() == [3] * 22
    assert rmf.matrix.shape == (2466, 256) and rmf.first_channel == 0 and rmf.ebounds_first
    assert arf.specresp.max() == pytest.approx(1.0)           # ISDC: area in the RMF, ARF ≈ 1
    assert rmf.e_min[22] == 30.0                                # the first good channel of the spectrum


@pytest.mark.parametrize("response,edges", [(ISGRI_RESPONSE, np.geomspace(20, 300, 17)),
                                            (JEMX_RESPONSE, np.geomspace(3.04, 34.88, 17))])
def test_generated_response_reproduces_the_simulator(tmp_path, response, edges):
    """Folding through the generated RMF × ARF (after a FITS round trip) gives the simulator's true
    band rates (spectrum × area × resolution) to 0.1 % for several spectral shapes."""
    rmf, arf = make_response(response, edges)
    assert np.all(rmf.matrix.sum(axis=1) <= 1 + 1e-9) and arf.specresp.max() <= response.area_cm2
    rmf2, arf2 = read_rmf(write_rmf(tmp_path / "r.rmf", rmf)), read_arf(write_arf(tmp_path / "r.arf", arf))
    fold = FoldingResponse(rmf2, arf2)
    for k, index in ((CRAB_K, CRAB_INDEX), (1.0, 1.5), (50.0, 3.0)):
        folded = fold.fold(lambda e, k=k, index=index: k * e ** (-index))
        truth = [band_rate(k, index, b, response) for b in pairwise(edges)]
        assert np.allclose(folded, truth, rtol=1e-3), (response.name, index)
    with pytest.raises(ValueError, match="channels"):
        make_response(response, [30, 20])


def _scw(swid, rate, err, names=("A", "B"), bands=((20, 40), (40, 80)), exposure=1000.0):
    return ScwRates(swid, 100.0, 100.02, exposure, [tuple(b) for b in bands], list(names), np.array(rate, float),
                    np.array(err, float), None, None)


def test_combine_is_variance_weighted_and_skips_missing():
    a = _scw("a", [[10.0, 1.0], [5.0, np.nan]], [[1.0, 0.5], [1.0, np.nan]])
    b = _scw("b", [[13.0, 2.0], [8.0, 3.0]], [[2.0, 0.5], [1.0, 1.0]])
    c = combine_scw_rates([a, b])
    assert c.rate[0, 0] == pytest.approx((10 / 1 + 13 / 4) / (1 + 1 / 4))
    assert c.rate_err[0, 0] == pytest.approx(1 / math.sqrt(1.25))
    assert c.rate[1, 1] == pytest.approx(3.0) and c.rate_err[1, 1] == pytest.approx(1.0)
    assert c.exposure_s.tolist() == [2000.0, 2000.0] and c.n_scw.tolist() == [2, 2]
    with pytest.raises(ValueError, match="scws"):
        combine_scw_rates([a, _scw("c", [[1.0]], [[1.0]], names=("A",), bands=((20, 40),))])
    with pytest.raises(ValueError, match="scws"):
        combine_scw_rates([])


def test_pha_type1_keywords_and_round_trip(tmp_path):
    comb = combine_scw_rates([_scw("a", [[10.0, 1.0], [np.nan, 2.0]], [[1.0, 0.5], [np.nan, 0.5]])])
    pha = spectrum_from_rates(comb, 0, "x.rmf", "x.arf", sys_fraction=0.02, ra_deg=10.0, dec_deg=-5.0,
                              crab=(180.0, 20.0, 80.0))
    path = write_pha(tmp_path / "s.fits", pha)
    h = fits.getheader(path, 1)
    for key, value in {"HDUCLASS": "OGIP", "HDUCLAS1": "SPECTRUM", "HDUCLAS3": "RATE", "EXTNAME": "SPECTRUM",
                       "RESPFILE": "x.rmf", "ANCRFILE": "x.arf", "BACKFILE": "NONE", "POISSERR": False,
                       "EXPOSURE": 1000.0, "DETCHANS": 2, "OBJECT": "A", "CRABRATE": 180.0, "TLMIN1": 1}.items():
        assert h[key] == value, key
    back = read_pha(path)
    assert back.quality.tolist() == [0, 1] and back.sys_err.tolist() == pytest.approx([0.02, 0.02])
    assert back.rate[0] == pytest.approx(10.0) and back.stat_err[0] == pytest.approx(1.0)
    assert back.response_paths() == (tmp_path / "x.rmf", tmp_path / "x.arf")
    with pytest.raises(ValueError, match="sys_fraction"):
        spectrum_from_rates(comb, 0, sys_fraction=1.5)


def test_pha_type2_many_sources(tmp_path):
    comb = combine_scw_rates([_scw("a", [[10.0, 1.0], [5.0, 2.0]], [[1.0, 0.5], [1.0, 0.5]])])
    spectra = [spectrum_from_rates(comb, i, f"{n}.rmf", f"{n}.arf", ra_deg=1.0 + i, dec_deg=2.0)
               for i, n in enumerate(comb.names)]
    path = write_pha2(tmp_path / "two.fits", spectra)
    assert fits.getheader(path, 1)["HDUCLAS4"] == "TYPE:II"
    rows = read_pha2(path)
    assert [r.rate.tolist() for r in rows] == [[10.0, 5.0], [1.0, 2.0]]
    b = read_pha(path, "B")
    assert b.respfile == "B.rmf" and b.rate.tolist() == [1.0, 2.0] and b.exposure == 1000.0
    with pytest.raises(ValueError, match="row"):
        read_pha(path, "C")


def test_bad_files_name_the_field(tmp_path):
    image = tmp_path / "image.fits"
    fits.PrimaryHDU(np.zeros((4, 4))).writeto(image)
    with pytest.raises(ValueError, match="pha"):
        read_pha(image)
    with pytest.raises(ValueError, match="rmf"):
        read_rmf(image)
    with pytest.raises(ValueError, match="arf"):
        read_arf(tmp_path / "missing.arf")
    (tmp_path / "junk.fits").write_text("not FITS at all")
    with pytest.raises(ValueError, match="pha"):
        read_pha(tmp_path / "junk.fits")
