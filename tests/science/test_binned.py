"""The binned level (:mod:`skygallery.archive.binned`): cube format and cache, rates from cubes equal
to rates from events, parallel runs equal to serial ones, and the batched/Cholesky fit equal to the
per-band eigen-decomposition fit it replaced."""
from __future__ import annotations

import math
import os
import zipfile

import numpy as np
import pytest

from skygallery.archive import binned as B
from skygallery.archive.events import read_scw
from skygallery.archive.layout import open_archive
from skygallery.archive.lightcurve import detector_background, extract_lightcurve
from skygallery.archive.spectrum import extract_spectra
from skygallery.science.attitude import Pointing, instrument_angles
from skygallery.science.extract import scw_rates
from skygallery.science.fit_shadowgram import (
    FitSource,
    _eigen_inverse,
    _solve_many,
    prepare_model,
)
from skygallery.science.imaging.shadow import source_shadow
from skygallery.science.instruments import isgri, jemx
from skygallery.science.instruments.response import coded_fraction

RA, DEC = 250.0, -40.0
BANDS = [(20.0, 30.0), (30.0, 40.0), (40.0, 80.0)]
SOURCES = [FitSource("SIM A", RA, DEC), FitSource("SIM B", RA + 3.0, DEC + 1.5)]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    from skygallery.science.simulate.archive import simulate_archive
    from skygallery.science.simulate.plan import Observation
    from skygallery.science.simulate.sky import SimSource, SkyModel
    root = tmp_path_factory.mktemp("binned_arch")
    sky = SkyModel([SimSource.from_mcrab("SIM A", RA, DEC, 300.0), SimSource.from_mcrab("SIM B", RA + 3.0, DEC + 1.5, 100.0)])
    simulate_archive(root, 700, [Observation("SIM A", RA, DEC, "hex", 3, obsid="0700001", pointing_s=1800.0)], sky,
                     seed=4)
    return open_archive(root)


@pytest.fixture(scope="module")
def scw(archive):
    return read_scw(archive.records[0].path, "ISGR")


def _close(a, b, rel=1e-9):
    """Equal within ``rel`` of max(|value|, its error) — NaN where the other is NaN."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    ok = np.isfinite(a)
    assert np.all(np.abs(a[ok] - b[ok]) <= rel * np.maximum(np.abs(a[ok]), 1e-3))


def test_cube_round_trip_and_atomic_write(scw, tmp_path):
    cube = B.make_cube(scw, "ISGR", BANDS, BANDS[0], 600.0)
    assert cube.counts.dtype == np.int32 and cube.counts.shape == (3, *isgri().detector.shape)
    assert cube.tcounts.shape[0] == math.ceil((cube.times[1] - cube.times[0]) * 86400 / 600 - 1e-9)
    assert cube.tcounts.sum() == cube.counts[0].sum()          # every event of the band is in a time bin
    assert cube.tbins[2].sum() == pytest.approx(scw.exposure_s)
    path = B.write_cube(tmp_path / "a" / "c.npz", cube)
    assert [p.name for p in path.parent.iterdir()] == ["c.npz"]   # no temporary file left
    back = B.read_cube(path)
    for key in ("counts", "bands", "efficiency", "pointing", "times", "tcounts", "tbins", "tband"):
        assert np.array_equal(getattr(cube, key), getattr(back, key)), key
    assert back.scw_id == cube.scw_id and back.prefix == "ISGR" and back.time_band == BANDS[0]
    with zipfile.ZipFile(path) as zf:
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_DEFLATED}


def test_read_cube_errors_name_the_problem(scw, tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        B.read_cube(tmp_path / "none.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="unreadable"):
        B.read_cube(tmp_path / "bad.npz")
    np.savez(tmp_path / "part.npz", counts=np.zeros((1, 2, 2), np.int32), bands=np.array([[20.0, 40.0]]))
    with pytest.raises(ValueError, match="efficiency: missing"):
        B.read_cube(tmp_path / "part.npz")


def test_pipeline_format_cube_is_read(scw, tmp_path):
    """A cube with only the pipeline's arrays (no meta, no tband): the time band is the last band."""
    cube = B.make_cube(scw, "ISGR", BANDS, BANDS[-1], 900.0)
    np.savez_compressed(tmp_path / "p.npz", counts=cube.counts, bands=cube.bands, efficiency=cube.efficiency,
                        pointing=cube.pointing, times=cube.times, tcounts=cube.tcounts, tbins=cube.tbins)
    back = B.read_cube(tmp_path / "p.npz")
    assert back.time_band == BANDS[-1] and back.scw_id == ""
    whole, timed = B.rates_from_cube(back, "ISGR", SOURCES)
    ref_whole, ref_timed = B.rates_from_cube(cube, "ISGR", SOURCES)
    _close(whole.rate, ref_whole.rate, 0)
    _close(timed.rate, ref_timed.rate, 0)


def test_rates_from_cube_equal_rates_from_events(scw):
    cube = B.make_cube(scw, "ISGR", BANDS, BANDS[1], 600.0)
    whole, timed = B.rates_from_cube(cube, isgri(), SOURCES)
    ref = scw_rates(scw, isgri(), SOURCES, BANDS)
    _close(whole.rate, ref.rate)
    _close(whole.rate_err, ref.rate_err)
    assert np.allclose(whole.chi2_red, ref.chi2_red, rtol=1e-9)
    ref_t = scw_rates(scw, isgri(), SOURCES, BANDS, time_bin_s=600.0)
    _close(timed.rate[:, 0], ref_t.rate[:, 1])
    _close(timed.rate_err[:, 0], ref_t.rate_err[:, 1])
    assert np.array_equal(timed.tbin_start_ijd, ref_t.tbin_start_ijd)
    assert np.array_equal(timed.tbin_exposure_s, ref_t.tbin_exposure_s)
    assert np.all(np.isfinite(whole.rate)) and np.all(whole.rate[:, 0] > 10 * whole.rate_err[:, 0])
    rate, trate = B.detector_rates(cube)
    for band, i in ((BANDS[0], 0), (BANDS[1], 1)):
        events_backv = detector_background(scw, ref, band)[i]
        assert rate[i] - np.nan_to_num(ref.rate[i]) @ ref.coded_fraction == pytest.approx(events_backv, rel=1e-12)
    assert trate.size == timed.rate.shape[0] and np.all(trate > 0)


def test_cache_key_tracks_every_input(archive, tmp_path):
    rec = archive.records[0]
    base = B.cube_path(tmp_path, str(rec.scw_id), rec.path, "ISGR", BANDS)
    assert base == B.cube_path(tmp_path, str(rec.scw_id), rec.path, "ISGR", BANDS)
    assert base.parent == tmp_path / "0700" / str(rec.scw_id) / "isgr"
    others = [B.cube_path(tmp_path, str(rec.scw_id), rec.path, "ISGR", BANDS[:2]),
              B.cube_path(tmp_path, str(rec.scw_id), rec.path, "ISGR", BANDS, BANDS[0], 300.0),
              B.cube_path(tmp_path, str(rec.scw_id), rec.path, "ISGR", BANDS, BANDS[0], 600.0),
              B.cube_path(tmp_path, str(rec.scw_id).replace(".001", ".000"), rec.path, "ISGR", BANDS),
              B.cube_path(tmp_path, str(archive.records[1].scw_id), archive.records[1].path, "ISGR", BANDS)]
    assert len({base, *others}) == 6
    events = rec.path / "isgri_events.fits.gz"
    st = events.stat()
    try:
        os.utime(events, ns=(st.st_atime_ns, st.st_mtime_ns + 10 ** 9))
        assert B.cube_path(tmp_path, str(rec.scw_id), rec.path, "ISGR", BANDS) != base
    finally:
        os.utime(events, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_spectra_cold_warm_and_parallel_identical(archive, tmp_path):
    records = archive.records
    kw = {"extra": SOURCES[1:], "cache_dir": tmp_path / "cache"}
    serial = extract_spectra(records, "ISGR", SOURCES[0], BANDS, workers=1, extra=SOURCES[1:])
    cold = extract_spectra(records, "ISGR", SOURCES[0], BANDS, workers=2, **kw)
    n_calls = []
    warm = extract_spectra(records, "ISGR", SOURCES[0], BANDS, workers=2, progress=n_calls.append, **kw)
    assert cold.n_cached == 0 and warm.n_cached == len(records) and n_calls == list(range(1, len(records) + 1))
    assert cold.seconds["read"] > 0 and warm.seconds["read"] == 0 and warm.seconds["read_cube"] > 0
    for run in (cold, warm):
        assert [r.swid for r in run.rates] == [r.swid for r in serial.rates]
        _close(run.combined.rate, serial.combined.rate, 0)
        _close(run.combined.rate_err, serial.combined.rate_err, 0)
    assert len(list((tmp_path / "cache").rglob("binned-*.npz"))) == len(records)
    # a damaged entry is rebuilt from the events, not trusted
    entry = next((tmp_path / "cache").rglob("binned-*.npz"))
    entry.write_bytes(b"truncated")
    again = extract_spectra(records, "ISGR", SOURCES[0], BANDS, workers=1, **kw)
    assert again.n_cached == len(records) - 1
    _close(again.combined.rate, serial.combined.rate, 0)
    assert B.read_cube(entry).counts.shape[0] == len(BANDS)


def test_lightcurve_from_cache_matches_events(archive, tmp_path):
    records = archive.records
    ref = extract_lightcurve(records, "ISGR", SOURCES[0], (20.0, 40.0), 900.0, workers=1)
    runs = [extract_lightcurve(records, "ISGR", SOURCES[0], (20.0, 40.0), 900.0, workers=2, cache_dir=tmp_path / "c")
            for _ in range(2)]
    for run in runs:
        _close(run.lightcurve.rate, ref.lightcurve.rate, 0)
        _close(run.lightcurve.backv, ref.lightcurve.backv, 0)
        assert np.array_equal(run.lightcurve.time_ijd, ref.lightcurve.time_ijd)
    cold, warm = runs
    assert cold.n_cached == 0 and cold.peak_rss_mb > 0                 # a pool process read events
    assert warm.n_cached == len(records) and math.isnan(warm.peak_rss_mb)   # all fitted here


def test_missing_instrument_is_skipped_not_cached(archive, tmp_path):
    jobs = [B.ScwJob(str(r.scw_id), str(r.path), "JMX2", tuple(SOURCES), tuple(BANDS),
                     cache_path=str(tmp_path / f"{i}.npz")) for i, r in enumerate(archive.records)]
    outcomes = B.run_jobs(jobs, workers=2)
    assert all("jmx2_events.fits.gz: missing" in o.skipped and o.whole is None for o in outcomes)
    assert not list(tmp_path.iterdir())
    with pytest.raises(ValueError, match="workers"):
        B.run_jobs(jobs, workers=0)
    bad = [B.ScwJob(str(r.scw_id), str(r.path), "ISGR", tuple(SOURCES), ((40.0, 20.0),)) for r in archive.records]
    with pytest.raises(ValueError, match="bands: E_MIN must be < E_MAX"):   # a job's error reaches the caller
        B.run_jobs(bad, workers=2)


def test_pool_that_cannot_start_falls_back_to_this_process(archive, monkeypatch):
    def broken(workers):
        raise OSError("no semaphores here")
    monkeypatch.setattr(B, "_pool", broken)
    jobs = [B.ScwJob(str(r.scw_id), str(r.path), "ISGR", tuple(SOURCES), tuple(BANDS)) for r in archive.records]
    with pytest.warns(RuntimeWarning, match="no semaphores here"):
        outcomes = B.run_jobs(jobs, workers=2)
    assert all(o.pid == os.getpid() and o.whole is not None for o in outcomes)
    assert [o.scw_id for o in outcomes] == [j.scw_id for j in jobs]


# ------------------------------------------------------------------ the fit itself

def test_batched_bands_equal_single_fits_and_near_coincident_sources():
    """fit_bands (all bands at once, Cholesky) = fit of each band alone; two sources 0.5′ apart make
    the normal matrix nearly singular: the eigen-decomposition fallback gives finite rates with
    large errors, and their sum stays well measured."""
    rng = np.random.default_rng(11)
    inst = isgri().with_dead_pixels(rng.random(isgri().detector.shape) < 0.02)
    p = Pointing(RA, DEC, 20.0)
    srcs = [FitSource("a", RA, DEC), FitSource("twin", RA + 0.008, DEC), FitSource("c", RA + 4.0, DEC - 2.0)]
    model = prepare_model(inst, p, srcs)
    shadow = source_shadow(inst, 0.0, 0.0, 20.0, 2000.0)
    counts = np.array([rng.poisson(2.0 * inst.efficiency + k * shadow) for k in (1.0, 0.5, 0.2)]).astype(float)
    together = model.fit_bands(counts, 2000.0)
    for band, fit in zip(counts, together):
        alone = model.fit(band, 2000.0)
        _close(fit.rate, alone.rate, 1e-9)              # BLAS sums in another order: ~1e-12
        assert fit.chi2 == pytest.approx(alone.chi2, rel=1e-9) and fit.dof == alone.dof
    first = together[0]
    assert np.all(np.isfinite(first.rate)) and first.rate_err[1] > 10 * first.rate_err[2]
    total_err = math.sqrt(first.covariance[0, 0] + first.covariance[1, 1] + 2 * first.covariance[0, 1])
    assert abs(first.rate[0] + first.rate[1] - 20.0) < 5 * total_err


def test_solve_many_cholesky_and_pseudo_inverse():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(50, 4))
    good = a.T @ a
    singular = np.array(good)
    singular[3, :], singular[:, 3] = singular[2, :], singular[:, 2]        # columns 2 and 3 identical
    rhs = rng.normal(size=(2, 4))
    coef, inv = _solve_many(np.stack([good, singular]), rhs)
    assert np.allclose(inv[0], np.linalg.inv(good), rtol=1e-10)
    d = np.sqrt(np.diag(singular))
    pseudo = _eigen_inverse(singular / np.outer(d, d)) / np.outer(d, d)
    assert np.allclose(inv[1], pseudo, rtol=1e-10) and np.allclose(coef[1], pseudo @ rhs[1])


@pytest.mark.parametrize("factory", [isgri, lambda: jemx(1)])
def test_source_columns_equal_source_shadow(factory):
    """The shadows built from banded overlaps equal imaging's source_shadow (sparse PIF), on-axis,
    off-axis and partially coded, and the coded fraction equals coded_fraction()."""
    inst = factory()
    p = Pointing(RA, DEC, 0.0)
    offsets = [(0.0, 0.0), (2.5, -1.2), (9.0, 4.0), (-14.0, 3.0)]
    srcs = [FitSource(f"s{i}", RA + dx / math.cos(math.radians(DEC)), DEC + dy) for i, (dx, dy) in enumerate(offsets)]
    model = prepare_model(inst, p, srcs)
    ty, tx = instrument_angles(p, [s.ra_deg for s in srcs], [s.dec_deg for s in srcs], inst.sky_pixel_deg)
    cols = iter(model.src_cols)
    for i, (a, b) in enumerate(zip(ty, tx)):
        assert model.coded_fraction[i] == pytest.approx(float(coded_fraction(inst, a, b)), rel=1e-12)
        if model.fitted[i]:
            ref = source_shadow(inst, float(a), float(b), 1.0, 1.0).ravel()[model.pix]
            assert np.allclose(next(cols), ref, rtol=1e-12, atol=1e-15 * ref.max())
    assert model.fitted[:2].all()
