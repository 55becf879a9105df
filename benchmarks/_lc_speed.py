"""Light-curve speed (``python benchmarks/_lc_speed.py``): ``lc_speed() -> list[str]`` markdown lines.

* One source over 80 simulated ISGRI ScWs (staring/dither on a 100 mCrab source, 20–40 keV):
  the full extraction (read events + shadowgram fits, per ScW and in 1000 s bins), split into
  event reading, fitting and building the light curve; then the light-curve product step alone
  (from the per-ScW fits: build, rebin, constancy, F_var, flares, OGIP file) — target < 2 s.
* SPI-ACS: simulating and searching 1 h and 6 h of 50 ms data.
* Peak resident memory of the process.
"""
from __future__ import annotations

import os
import resource
import tempfile
import time
from pathlib import Path

N_SCW = 80
RA, DEC = 250.0, -40.0


def _product_step(rates, name: str, out: Path) -> tuple[float, int]:
    from skygallery.science import lightcurves as L
    from skygallery.science.ogip_lc import write_lightcurve
    t = time.perf_counter()
    lc = L.from_scw_rates(rates, name, (20.0, 40.0), instrument="ISGR", ra_deg=RA, dec_deg=DEC)
    coarse = L.rebin(lc, 20000.0)
    L.constancy_test(lc), L.fractional_variability(lc), L.find_flares(lc, 3.0), L.constancy_test(coarse)
    write_lightcurve(out, lc)
    return time.perf_counter() - t, len(lc)


def _archive_rows(tmp: Path) -> list[str]:
    from skygallery.archive.layout import open_archive
    from skygallery.archive.lightcurve import extract_lightcurve
    from skygallery.science.fit_shadowgram import FitSource
    from skygallery.science.simulate.archive import simulate_archive
    from skygallery.science.simulate.plan import Observation
    from skygallery.science.simulate.sky import SimSource, SkyModel
    started = time.perf_counter()
    obs = [Observation("SIM LC", RA, DEC, "5x5", 25, obsid="0700001", pointing_s=1800.0),
           Observation("SIM LC", RA, DEC, "5x5", 25, obsid="0700002", pointing_s=1800.0),
           Observation("SIM LC", RA, DEC, "5x5", 25, obsid="0700003", pointing_s=1800.0),
           Observation("SIM LC", RA, DEC, "hex", 5, obsid="0700004", pointing_s=1800.0)]
    simulate_archive(tmp, 700, obs, SkyModel([SimSource.from_mcrab("SIM LC", RA, DEC, 100.0)]), seed=1)
    sim_s = time.perf_counter() - started
    records = open_archive(tmp).records[:N_SCW]
    rows = ["| light curve, 80 ISGRI ScWs | bins | total (s) | read events (s) | fits (s) | LC build (s) |",
            "|---|---|---|---|---|---|"]
    runs = {}
    for label, tbin in (("per ScW", None), ("1000 s bins", 1000.0)):
        t = time.perf_counter()
        run = extract_lightcurve(records, "ISGR", FitSource("SIM LC", RA, DEC), (20.0, 40.0), tbin)
        total = time.perf_counter() - t
        runs[label] = run
        s = run.seconds
        rows.append(f"| full extraction, {label} | {len(run.lightcurve)} | {total:.1f} | {s['read']:.1f} | "
                    f"{s['fit']:.1f} | {s['lightcurve']:.3f} |")
    rows += ["", "| light-curve product step (from the 80 per-ScW fits) | bins | time (s) | target |",
             "|---|---|---|---|"]
    for k, (label, run) in enumerate(runs.items()):
        seconds, n = _product_step(run.rates, "SIM LC", tmp / f"lc_{k}.fits")
        rows.append(f"| build + rebin + χ² + F_var + flares + OGIP write, {label} | {n} | {seconds:.3f} | "
                    f"< 2 s: {'PASS' if seconds < 2 else 'FAIL'} |")
    rows.append(f"\n(simulating the 80-ScW archive took {sim_s:.0f} s)")
    return rows


def _acs_rows() -> list[str]:
    from skygallery.science.spiacs import GrbPulse, search_bursts, simulate_acs
    rows = ["", "| SPI-ACS, 50 ms bins | bins | simulate (s) | burst search (s) | bursts found / injected |",
            "|---|---|---|---|---|"]
    for hours in (1, 6):
        dur = hours * 3600.0
        pulses = [GrbPulse(dur * f, 3e4, 0.5, 4.0) for f in (0.2, 0.5, 0.8)]
        t = time.perf_counter()
        lc = simulate_acs(8466.5, dur, pulses, seed=hours)
        t_sim = time.perf_counter() - t
        t = time.perf_counter()
        found = search_bursts(lc)
        rows.append(f"| {hours} h | {len(lc)} | {t_sim:.2f} | {time.perf_counter() - t:.2f} | "
                    f"{len(found)} / {len(pulses)} |")
    return rows


def lc_speed() -> list[str]:
    """Benchmark tables as markdown lines (module docstring); BLAS threads capped at 1 when the
    libraries are not loaded yet."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    with tempfile.TemporaryDirectory() as tmp:
        rows = _archive_rows(Path(tmp))
    rows += _acs_rows()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    rows.append(f"\nPeak resident memory of the benchmark process: {peak_mb:.0f} MB")
    return rows


if __name__ == "__main__":
    print("\n".join(lc_speed()))
