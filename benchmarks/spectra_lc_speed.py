"""Spectra (and light-curve) speed on 2 cores (``python benchmarks/spectra_lc_speed.py [--reuse]``);
prints markdown tables.

Spectra: 10 sources over 80 simulated ISGRI ScWs (3 × 5×5 dithers + a hexagon around a field with
10 sources of 10–500 mCrab) in 16 log-spaced channels 20–300 keV — event reading + shadowgram fits
per ScW (:func:`skygallery.archive.spectrum.extract_spectra`, 1 and 2 worker processes), then the
products of all 10 sources (variance-weighted combination, RMF/ARF generation, 10 PHA-I + 1 PHA-II,
10 power-law fits). Target: < 20 s on 2 cores. BLAS is limited to one thread per process (two
processes on two cores; multithreaded BLAS inside each made the small normal-equation products
~9× slower here). The archive is cached in ``benchmarks/out/spectra_speed`` with ``--reuse``.
The light-curve part comes from ``benchmarks/_lc_speed.py`` (``lc_speed()``) when present.
"""
from __future__ import annotations

import os
from itertools import pairwise

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import math
import resource
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

FIELD = (250.0, -40.0)
N_SCW = 80
N_SRC = 10
EDGES = np.geomspace(20.0, 300.0, 17)
OUT = ROOT / "benchmarks" / "out" / "spectra_speed"


def _sources():
    from skygallery.science.simulate.sky import SimSource
    rng = np.random.default_rng(42)
    out = []
    for i in range(N_SRC):
        r, a = 6.0 * math.sqrt(rng.random()), rng.uniform(0, 2 * math.pi)
        ra = FIELD[0] + r * math.cos(a) / math.cos(math.radians(FIELD[1]))
        out.append(SimSource.from_mcrab(f"SRC {i + 1:02d}", ra, FIELD[1] + r * math.sin(a),
                                        float(10 ** rng.uniform(1, math.log10(500))), float(rng.uniform(1.8, 2.8))))
    return out


def _archive(reuse: bool) -> tuple[Path, float]:
    from skygallery.science.simulate.archive import simulate_archive
    from skygallery.science.simulate.plan import Observation
    from skygallery.science.simulate.sky import SkyModel
    root = OUT / "archive"
    if reuse and (root / "idx" / "scw_index.fits").is_file():
        return root, math.nan
    shutil.rmtree(root, ignore_errors=True)
    obs = [Observation("SPEC FIELD", *FIELD, "5x5", 25, obsid=f"071000{k}", pointing_s=1800.0) for k in range(3)]
    obs.append(Observation("SPEC FIELD", *FIELD, "hex", 5, obsid="0710004", pointing_s=1800.0))
    started = time.perf_counter()
    simulate_archive(root, 710, obs, SkyModel(_sources()), seed=3)
    return root, time.perf_counter() - started


def _products(run, out: Path) -> float:
    from skygallery.science.responses import make_response, write_arf, write_rmf
    from skygallery.science.simulate.sky import ISGRI_RESPONSE
    from skygallery.science.specfit import fit_spectrum
    from skygallery.science.spectra import spectrum_from_rates, write_pha, write_pha2
    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    rmf, arf = make_response(ISGRI_RESPONSE, EDGES)
    write_rmf(out / "bench.rmf", rmf), write_arf(out / "bench.arf", arf)
    spectra = [spectrum_from_rates(run.combined, i, "bench.rmf", "bench.arf", 0.0, "ISGRI", s.ra_deg, s.dec_deg)
               for i, s in enumerate(run.sources)]
    for i, pha in enumerate(spectra):
        write_pha(out / f"src{i:02d}.fits", pha)
        if np.sum(pha.quality == 0) > 3:
            fit_spectrum(pha, rmf, arf, "powerlaw", errors="covariance")
    write_pha2(out / "all_pha2.fits", spectra)
    return time.perf_counter() - started


def spectra_speed(reuse: bool = False) -> list[str]:
    from skygallery.archive.layout import open_archive
    from skygallery.archive.spectrum import extract_spectra
    from skygallery.science.fit_shadowgram import FitSource
    root, sim_s = _archive(reuse)
    records = open_archive(root).records[:N_SCW]
    srcs = [FitSource(s.name, s.ra_deg, s.dec_deg) for s in _sources()]
    bands = list(pairwise(EDGES))
    rows = [(f"| spectra: {N_SRC} sources × {len(records)} ISGRI ScWs × {len(bands)} channels | workers | "
             "wall (s) | read events (CPU s) | binning + fits (CPU s) | products (s) | wall total (s) | "
             "CPU total / 2 cores (s) | target < 20 s |"), "|---|---|---|---|---|---|---|---|---|"]
    for workers in (1, 2):
        started = time.perf_counter()
        run = extract_spectra(records, "ISGR", srcs[0], bands, None, extra=srcs[1:], workers=workers)
        wall = time.perf_counter() - started
        cpu0 = time.process_time()
        prod = _products(run, OUT / f"products_{workers}")
        prod_cpu = time.process_time() - cpu0
        total = wall + prod
        two_core = (run.seconds["read"] + run.seconds["fit"]) / 2 + prod_cpu
        rows.append(f"| read + fit + combine, then PHA/RMF/ARF/PHA-II + 10 fits | {workers} | {wall:.1f} | "
                    f"{run.seconds['read']:.1f} | {run.seconds['fit']:.1f} | {prod:.2f} | {total:.1f} | "
                    f"{two_core:.1f} | wall {'PASS' if total < 20 else 'FAIL'}, CPU/2 "
                    f"{'PASS' if two_core < 20 else 'FAIL'} |")
    per = (run.seconds["read"] + run.seconds["fit"]) / len(records)
    rows.append(f"\nper ScW (CPU): {1000 * run.seconds['read'] / len(records):.0f} ms reading "
                f"(~1.4 M events, gzip), {1000 * run.seconds['fit'] / len(records):.0f} ms binning 16 channels + "
                f"{N_SRC} PIFs + 16 fits; {1000 * per:.0f} ms in all. "
                f"Sources fitted per ScW: {N_SRC} (all in the field).")
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    rows.append(f"peak resident memory: main process {own:.0f} MB, largest worker {kids:.0f} MB")
    load = os.getloadavg()
    rows.append(f"machine load average during the run: {load[0]:.1f} / {load[1]:.1f} (1 / 5 min) on "
                f"{os.cpu_count()} cores — wall times include the other jobs' share of the CPU")
    if not math.isnan(sim_s):
        rows.append(f"(simulating the {len(records)}-ScW archive took {sim_s:.0f} s; reuse it with --reuse)")
    return rows


def main() -> None:
    reuse = "--reuse" in sys.argv
    lines = ["## Spectra speed", "", *spectra_speed(reuse)]
    try:
        from _lc_speed import lc_speed
    except ImportError:
        lc_speed = None
    if lc_speed is not None:
        lines += ["", "## Light-curve speed", "", *lc_speed()]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
