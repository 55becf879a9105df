"""Simulated archive: sky model, pointing plan, events, OSA layout, archive selection."""
from __future__ import annotations

import itertools

import numpy as np
import pytest
from astropy.io import fits

from skygallery.archive.events import read_scw
from skygallery.archive.layout import open_archive
from skygallery.science.attitude import Pointing
from skygallery.science.instruments import isgri
from skygallery.science.simulate.archive import simulate_archive
from skygallery.science.simulate.events import BackgroundModel, simulate_events
from skygallery.science.simulate.plan import (
    Observation,
    dither_offsets,
    plan_revolution,
)
from skygallery.science.simulate.sky import (
    CRAB_INDEX,
    CRAB_K,
    ISGRI_RESPONSE,
    LightCurve,
    SimSource,
    SkyModel,
    band_rate,
)
from skygallery.science.sphere import separation_deg
from skygallery.science.timesys import default_table, ijd

CRAB = SimSource.from_mcrab("Crab", 83.633, 22.014, 1000.0)


def test_crab_rate_matches_the_reference_values():
    assert band_rate(CRAB_K, CRAB_INDEX, (20, 40), ISGRI_RESPONSE) == pytest.approx(180, rel=0.10)
    assert band_rate(CRAB_K, CRAB_INDEX, (28, 40), ISGRI_RESPONSE) == pytest.approx(76, rel=0.10)
    with pytest.raises(ValueError, match="E_MIN"):
        band_rate(CRAB_K, CRAB_INDEX, (40, 20), ISGRI_RESPONSE)
    with pytest.raises(ValueError, match="ra"):
        SimSource.from_mcrab("bad", 458.0, 0.0, 10.0)
    with pytest.raises(ValueError, match="dec"):
        SimSource.from_mcrab("bad", 10.0, 95.0, 10.0)


def test_lightcurve_flare_and_transient_window():
    lc = LightCurve(flares=((100.0, 4.0, 0.01, 0.1),), on_ijd=99.0, off_ijd=101.0)
    f = lc.factor(np.array([98.0, 99.5, 100.0, 100.1, 102.0]))
    assert f[0] == 0 and f[-1] == 0 and f[2] == pytest.approx(5.0) and 1 < f[3] < 5


def test_dither_patterns_and_plan_inside_the_usable_window():
    five = dither_offsets("5x5", 2.1)
    assert len(five) == 25 and max(abs(e) for e, _ in five) == pytest.approx(4.2)
    assert len(dither_offsets("hex", 2.1)) == 7 and dither_offsets("staring", 2.1) == [(0.0, 0.0)]
    with pytest.raises(ValueError, match="pattern"):
        dither_offsets("spiral", 2.1)
    with pytest.raises(ValueError, match="pointing_s"):
        Observation("x", 10, 10, pointing_s=100)
    obs = [Observation("GC", 266.4, -29.0, "5x5", 25, obsid="0665001"), Observation("Crab", 83.6, 22.0, "hex", 7)]
    plan = plan_revolution(665, obs)
    exit_, entry = (ijd(t) for t in default_table().usable(665))
    assert len(plan) == 32 and plan[0].tstart_ijd == pytest.approx(exit_) and plan[-1].tstop_ijd <= entry
    assert all(b.tstart_ijd > a.tstop_ijd for a, b in itertools.pairwise(plan))          # slews between
    assert str(plan[0].scw_id) == "066500010010.001" and plan[24].observation.target == "GC"
    seps = [separation_deg(266.4, -29.0, s.pointing.ra_deg, s.pointing.dec_deg) for s in plan[:25]]
    assert max(seps) == pytest.approx(4.2 * np.sqrt(2), rel=0.02)


def test_events_are_deterministic_and_carry_truth():
    inst = isgri()
    sky = SkyModel([CRAB, SimSource.from_mcrab("far", 200.0, -60.0, 1000.0)])
    args = (inst, ISGRI_RESPONSE, sky, Pointing(85.0, 22.0, 5.0), 3000.0, 3000.0 + 2000 / 86400)
    a = simulate_events(*args, np.random.default_rng(5), BackgroundModel(rate_counts_s=500.0))
    b = simulate_events(*args, np.random.default_rng(5), BackgroundModel(rate_counts_s=500.0))
    np.testing.assert_array_equal(a.energy_kev, b.energy_kev)
    np.testing.assert_array_equal(a.det_y, b.det_y)
    assert len(a.time_ijd) > 1_000_000 and np.all(np.diff(a.time_ijd) >= 0)
    assert [t["NAME"] for t in a.truth] == ["Crab"]                                  # "far" is not in view
    assert inst.detector.valid[a.det_y, a.det_x].all()                             # no event on a gap
    crab = a.truth[0]
    assert crab["COUNTS"] == pytest.approx(crab["RATE_TOT"] * 2000 * 0.7, rel=0.01)
    with pytest.raises(ValueError, match="deadc"):
        simulate_events(*args, np.random.default_rng(5), BackgroundModel(), deadc=1.5)


def test_archive_layout_index_selection_and_reading(tmp_path):
    obs = [Observation("Crab", 83.633, 22.014, "hex", 3, obsid="0665001", pi="Tester", title="Crab hex"),
           Observation("Far", 200.0, -60.0, "staring", 1, obsid="0665002")]
    planned = simulate_archive(tmp_path, 665, obs, SkyModel([CRAB]), seed=2, instruments=("ISGR",))
    scw = tmp_path / "scw" / "0665" / "066500010010.001"
    assert {p.name for p in scw.iterdir()} == {"swg.fits", "isgri_events.fits.gz", "truth.fits"}
    h = fits.getheader(scw / "swg.fits", 1)
    assert h["REVOL"] == 665 and h["SWID"] == "066500010010" and h["OBS_ID"] == "0665001" and h["PI_NAME"] == "Tester"
    assert h["TSTART"] < h["TSTOP"] and h["DEADC"] == 0.7 and -90 <= h["DEC_SCZ"] <= 90
    truth = fits.getdata(scw / "truth.fits", "TRUTH-ISGR")
    assert list(truth["NAME"]) == ["Crab"] and truth["RATE_20_40"][0] > 100
    # an NRT copy of the first ScW: CONS must be preferred, NRT selectable
    nrt = tmp_path / "scw" / "0665" / "066500010010.000"
    nrt.mkdir()
    (nrt / "swg.fits").write_bytes((scw / "swg.fits").read_bytes())
    (tmp_path / "idx" / "scw_index.fits").unlink()                                 # scan mode
    arch = open_archive(tmp_path)
    assert len(arch) == 5
    sel = arch.select(ra_deg=83.6, dec_deg=22.0, radius_deg=5)
    assert [str(r.scw_id) for r in sel] == [str(p.scw_id) for p in planned[:3]]
    assert [r.scw_id.version for r in arch.select(ra_deg=83.6, dec_deg=22.0, radius_deg=5, version="NRT")] == [0]
    two = arch.select(ra_deg=83.633, dec_deg=22.014, radius_deg=5, max_pointings=2)
    assert two == arch.select(ra_deg=83.633, dec_deg=22.014, radius_deg=5, max_pointings=2) and len(two) == 2
    assert str(two[0].scw_id) == "066500010010.001"                                   # on-target first
    assert len(arch.select(t1=f"ijd:{planned[3].tstart_ijd}")) == 1
    assert set(arch.group_observations(arch.select())) == {"0665001", "0665002"}
    with pytest.raises(ValueError, match="ra"):
        arch.select(ra_deg=458.0, dec_deg=0.0)
    with pytest.raises(ValueError, match="version"):
        arch.select(version="BEST")
    data = read_scw(scw, "ISGR")
    assert data.det_y.max() < 134 and data.det_x.max() < 130 and data.efficiency.shape == (134, 130)
    assert data.pointing.ra_deg == pytest.approx(83.633) and data.exposure_s == pytest.approx(2000 * 0.7)
    with pytest.raises(ValueError, match="jmx1_events"):
        read_scw(scw, "JMX1")


def test_flares_and_transients_from_options_and_sky_files_reach_the_truth_tables(tmp_path):
    from skygallery.science.simulate.skyfile import (
        add_flare,
        apply_sky_model,
        load_sky_model_file,
        parse_flare,
    )
    plan = plan_revolution(665, [Observation("Crab", 83.633, 22.014, "staring", 3, pointing_s=1800.0)])
    t1, t2 = plan[1].tstart_ijd, plan[1].tstop_ijd
    mid = 0.5 * (t1 + t2)
    name, flare = parse_flare(f"Crab:ijd:{mid}:600:4")
    assert name == "Crab" and flare[0] == pytest.approx(mid) and flare[1] == pytest.approx(3.0)
    assert flare[2] == pytest.approx(60 / 86400) and flare[3] == pytest.approx(600 / 86400)
    iso = parse_flare("GX 354-0:2008-03-05T10:00:00:3000:2.5")[1]
    assert iso[0] == pytest.approx(ijd("2008-03-05T10:00:00"))
    sky = add_flare(SkyModel([CRAB]), name, flare)
    model = tmp_path / "sky.yaml"
    model.write_text(f"""
sources:
  - name: New Transient
    ra: 84.5
    dec: 23.0
    flux_mcrab: 500
    t_on: "ijd:{t1 - 60 / 86400}"
    off: "ijd:{t2 + 60 / 86400}"    # a bare off is YAML's false: read as t_off
""")
    sky = apply_sky_model(sky, load_sky_model_file(model))
    simulate_archive(tmp_path / "arch", 665, [Observation("Crab", 83.633, 22.014, "staring", 3, pointing_s=1800.0)],
                     sky, seed=1)
    rows = [{str(r["NAME"]).strip(): r for r in fits.getdata(
        tmp_path / "arch" / "scw" / "0665" / f"0665{k:04d}0010.001" / "truth.fits", "TRUTH-ISGR")} for k in (1, 2, 3)]
    steady, flaring, _after = (r["Crab"] for r in rows)
    assert steady["LC_MEAN"] == pytest.approx(1.0, abs=1e-3) and flaring["LC_MEAN"] > 1.3
    assert flaring["RATE_20_40"] == pytest.approx(steady["RATE_20_40"] * flaring["LC_MEAN"], rel=1e-6)
    assert flaring["COUNTS"] > 1.2 * steady["COUNTS"]
    assert [r["New Transient"]["LC_MEAN"] > 0.9 for r in rows] == [False, True, False]
    assert rows[0]["New Transient"]["COUNTS"] == 0


def test_bad_flare_and_sky_model_files_name_the_field(tmp_path):
    from skygallery.science.simulate.skyfile import (
        add_flare,
        apply_sky_model,
        load_sky_model_file,
        parse_flare,
    )
    with pytest.raises(ValueError, match="flare"):
        parse_flare("Crab:2008-03-05T10:00:00")
    with pytest.raises(ValueError, match="factor"):
        parse_flare("Crab:ijd:3006.2:600:0.5")
    with pytest.raises(ValueError, match="t0"):
        parse_flare("Crab:yesterday:600:3")
    with pytest.raises(ValueError, match="no source 'Vela X-1'"):
        add_flare(SkyModel([CRAB]), "Vela X-1", parse_flare("Vela X-1:ijd:3006.2:600:3")[1])
    bad = tmp_path / "bad.json"
    bad.write_text('{"sources": [{"name": "Unknown X-1", "flux_mcrab": 5}]}')
    with pytest.raises(ValueError, match="ra, dec and flux_mcrab are required"):
        apply_sky_model(SkyModel([CRAB]), load_sky_model_file(bad))
    bad.write_text('{"sources": [{"name": "Crab", "colour": "red"}]}')
    with pytest.raises(ValueError, match="unknown keys"):
        apply_sky_model(SkyModel([CRAB]), load_sky_model_file(bad))
    with pytest.raises(ValueError, match="sky-model"):
        load_sky_model_file(tmp_path / "absent.yaml")
    txt = tmp_path / "sky.txt"
    txt.write_text("sources: []")
    with pytest.raises(ValueError, match="extension"):
        load_sky_model_file(txt)
