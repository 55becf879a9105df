"""Light-curve speed, used by ``benchmarks/spectra_lc_speed.py`` (which runs each measurement in a
fresh process and prints the tables).

* :func:`measure_lc` — one source over the benchmark's 80 simulated ISGRI ScWs (20–40 keV), the
  other 9 sources of the field given as a reference catalog so that, as in a real run, the target
  and its bright neighbours are fitted together (10 sources per ScW): the extraction
  (:func:`skygallery.archive.lightcurve.extract_lightcurve`, per ScW or in 1000 s bins) from the
  events ("cold": empty binned cache) or from the binned cache ("warm"), split into event reading,
  binning (+ writing the cubes), cube reading and fitting; then the light-curve product step
  (build, rebin, χ² constancy, F_var, flares, OGIP file).
* :func:`acs_rows` — SPI-ACS: simulating and searching 1 h and 6 h of 50 ms data.
"""
from __future__ import annotations

import math
import os
import resource
import time
from pathlib import Path

BAND = (20.0, 40.0)


def catalog_of(sources, exclude: str):
    """A reference catalog holding the simulated sources except ``exclude`` (all bright enough
    to be fitted: catalog rate 10 counts/s)."""
    from skygallery.science.catalog import CatalogIndex, CatalogSource
    return CatalogIndex([CatalogSource(s.name, s.ra_deg, s.dec_deg, "X", (), isgri_flux=10.0, origin="bench")
                         for s in sources if s.name != exclude])


def _product_step(run, out: Path) -> float:
    from skygallery.science import lightcurves as L
    from skygallery.science.ogip_lc import write_lightcurve
    t = time.perf_counter()
    lc = run.lightcurve
    coarse = L.rebin(lc, 20000.0)
    L.constancy_test(lc), L.fractional_variability(lc), L.find_flares(lc, 3.0), L.constancy_test(coarse)
    write_lightcurve(out, lc)
    return time.perf_counter() - t


def measure_lc(records, target, catalog, workers: int, time_bin_s: float | None, cache: Path,
               out: Path) -> dict:
    """One light-curve extraction (module docstring) and its product step; a JSON-able dict."""
    from skygallery.archive.lightcurve import extract_lightcurve
    load = os.getloadavg()[0]
    started = time.perf_counter()
    run = extract_lightcurve(records, "ISGR", target, BAND, time_bin_s, catalog, workers=workers, cache_dir=cache)
    wall = time.perf_counter() - started
    product = _product_step(run, out)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    return {"wall": wall, "seconds": run.seconds, "n_bins": len(run.lightcurve), "n_cached": run.n_cached,
            "n_scw": len(run.rates), "n_src": len(run.rates[0].names), "product": product, "rss_main": own,
            "rss_worker": None if math.isnan(run.peak_rss_mb) else run.peak_rss_mb, "load": load}


def acs_rows() -> list[str]:
    from skygallery.science.spiacs import GrbPulse, search_bursts, simulate_acs
    rows = ["| SPI-ACS, 50 ms bins | bins | simulate (s) | burst search (s) | bursts found / injected |",
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


if __name__ == "__main__":
    print("Part of benchmarks/spectra_lc_speed.py: run `python benchmarks/spectra_lc_speed.py --help`.")
