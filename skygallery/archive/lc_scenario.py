"""Light-curve injection–recovery scenarios shared by the tests and ``benchmarks/_validate_lc.py``.

* :func:`flaring_source_run` — the full chain: a simulated archive (hexagonal dither on a source
  with a fast-rise exponential-decay flare, :class:`~skygallery.science.simulate.sky.LightCurve`)
  written to disk, read back ScW by ScW, fitted per time bin
  (:func:`~skygallery.archive.lightcurve.extract_lightcurve`), and compared with the truth: the
  injected band rate × the light-curve factor averaged over each bin.
* :func:`constant_source_pvalues` — the constancy test's false-positive rate: seeded trials, each
  one ScW of a constant source simulated in memory (the same event simulator, without writing
  files) and fitted in time bins; returns the χ²-to-constant p-values, which should be uniform.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from astropy.io import fits

from skygallery.science import lightcurves as L
from skygallery.science.attitude import Pointing
from skygallery.science.extract import scw_rates
from skygallery.science.fit_shadowgram import FitSource
from skygallery.science.instruments import isgri
from skygallery.science.simulate.archive import INSTRUMENT_SETUP, simulate_archive
from skygallery.science.simulate.events import simulate_events
from skygallery.science.simulate.plan import Observation, plan_revolution
from skygallery.science.simulate.sky import (
    ISGRI_RESPONSE,
    LightCurve,
    SimSource,
    SkyModel,
    band_rate,
)

from .events import ScwData
from .layout import open_archive
from .lightcurve import extract_lightcurve

__all__ = ["FLARE_FIELD", "FlareResult", "constant_source_pvalues", "flaring_source_run"]

FLARE_FIELD = ("SIM Flarer", 250.0, -40.0)
BAND = (20.0, 40.0)


@dataclass
class FlareResult:
    """The extracted light curve, the truth per bin (counts/s), χ² against it, the flares found
    and the injected flare peak (IJD)."""

    lightcurve: L.LightCurve
    truth: np.ndarray
    chi2: float
    dof: int
    flares: list[L.Flare]
    peak_ijd: float
    per_scw_truth_chi2: tuple[float, int]
    seconds: dict


def _truth(src: SimSource, lc: L.LightCurve) -> np.ndarray:
    rate = band_rate(src.k, src.index, BAND, ISGRI_RESPONSE)
    return np.array([rate * float(np.mean(src.lightcurve.factor(np.linspace(a, b, 201))))
                     for a, b in zip(lc.tstart_ijd, lc.tstop_ijd)])


def flaring_source_run(root: str | os.PathLike, n_scw: int = 4, time_bin_s: float = 300.0, mcrab: float = 100.0,
                       amplitude: float = 4.0, rise_s: float = 300.0, decay_s: float = 1500.0, seed: int = 3,
                       rev: int = 700) -> FlareResult:
    """Simulate, extract and compare (module docstring); the flare peaks 600 s into the 2nd ScW."""
    name, ra, dec = FLARE_FIELD
    obs = [Observation(name, ra, dec, "hex", n_scw, obsid=f"{rev:04d}FLR", pointing_s=1800.0,
                       title="light-curve validation")]
    planned = plan_revolution(rev, obs)
    peak = planned[min(1, len(planned) - 1)].tstart_ijd + 600.0 / 86400.0
    src = SimSource.from_mcrab(name, ra, dec, mcrab,
                               lightcurve=LightCurve(((peak, amplitude, rise_s / 86400.0, decay_s / 86400.0),)))
    root = Path(root)
    simulate_archive(root, rev, obs, SkyModel([src]), seed=seed)
    records = open_archive(root).records
    run = extract_lightcurve(records, "ISGR", FitSource(name, ra, dec), BAND, time_bin_s)
    lc = run.lightcurve
    truth = _truth(src, lc)
    chi2, dof = L.chi2_against_model(lc, truth)
    per_scw = extract_lightcurve(records, "ISGR", FitSource(name, ra, dec), BAND, None).lightcurve
    scw_truth = [float(fits.getdata(r.path / "truth.fits", "TRUTH-ISGR")["RATE_20_40"][0]) for r in records]
    return FlareResult(lc, truth, chi2, dof, L.find_flares(lc, 5.0), peak,
                       L.chi2_against_model(per_scw, np.array(scw_truth)), run.seconds)


def constant_source_pvalues(n_trials: int, seed: int = 0, mcrab: float = 100.0, time_bin_s: float = 180.0,
                            duration_s: float = 1800.0) -> np.ndarray:
    """χ²-to-constant p-values of ``n_trials`` one-ScW light curves of a constant source."""
    name, ra, dec = FLARE_FIELD
    sky = SkyModel([SimSource.from_mcrab(name, ra, dec, mcrab)])
    _, response, background, _ = INSTRUMENT_SETUP["ISGR"]
    base = isgri()
    inst = base.with_dead_pixels(np.random.default_rng([seed, 9999]).random(base.detector.shape) < 0.002)
    out = np.empty(n_trials)
    for i in range(n_trials):
        rng = np.random.default_rng([seed, 4242, i])
        pointing = Pointing((ra + rng.uniform(-3, 3) / math.cos(math.radians(dec))) % 360.0,
                            dec + rng.uniform(-3, 3), rng.uniform(0, 360))
        t0 = 3000.0 + i
        t1 = t0 + duration_s / 86400.0
        ev = simulate_events(inst, response, sky, pointing, t0, t1, rng, background, 0.7, (BAND,))
        header = fits.Header({"TSTART": t0, "TSTOP": t1})
        data = ScwData(f"{i:012d}", pointing, header, ev.det_y, ev.det_x, ev.energy_kev,
                       inst.efficiency.astype(float), ev.exposure_s, ev.time_ijd)
        rates = scw_rates(data, base, [FitSource(name, ra, dec)], [BAND], time_bin_s)
        out[i] = L.constancy_test(L.from_scw_rates([rates], name, BAND)).p_value
    return out
