"""Spectra and light-curve speed (``python benchmarks/spectra_lc_speed.py [--reuse]``); prints
markdown tables.

Archive: 80 simulated ISGRI ScWs (3 × 5×5 dithers + a hexagon) around a field of 10 sources of
10–500 mCrab, cached in ``benchmarks/out/spectra_speed/archive`` (``--reuse`` keeps it).

* Spectra: the 10 sources over the 80 ScWs in 16 log-spaced channels 20–300 keV
  (:func:`skygallery.archive.spectrum.extract_spectra`), then the products of all 10 sources
  (variance-weighted combination, RMF/ARF, 10 PHA-I + 1 PHA-II, 10 power-law fits).
  Target: < 20 s from the events ("cold") on 2 cores.
* Light curve: one source over the 80 ScWs, per ScW and in 1000 s bins, its 9 neighbours fitted
  too (``benchmarks/_lc_speed.py``). Target: < 2 s from the binned cache ("warm").

Every measurement runs in a fresh Python process (so each includes starting its worker pool, and
peak memory is per run): "cold" with an empty binned cache (read the gzipped events, bin, write
the cubes, fit), "warm" with the cache the cold 2-worker run wrote; 1 and 2 worker processes in
all (the calling process is one of them; warm runs this small fit everything in the calling
process, cheaper than starting a pool).
CPU columns are summed over all processes; the 1-minute load average of the machine (shared with
other jobs) is printed with each row — wall times include the other jobs' share of the CPU.
One BLAS thread per process (``OPENBLAS_NUM_THREADS=1``).
"""
from __future__ import annotations

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

import argparse
import json
import math
import resource
import shutil
import subprocess
import sys
import time
from itertools import pairwise
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
LC_TARGET = "SRC 01"


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


def _records(n_scw: int):
    from skygallery.archive.layout import open_archive
    return open_archive(OUT / "archive").records[:n_scw]


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


# ------------------------------------------------------------------ one measurement (child process)

def _measure(args) -> dict:
    from skygallery.science.fit_shadowgram import FitSource
    records = _records(args.scws)
    srcs = [FitSource(s.name, s.ra_deg, s.dec_deg) for s in _sources()]
    cache = Path(args.cache)
    if args.measure == "lc":
        from _lc_speed import catalog_of, measure_lc
        target = next(s for s in srcs if s.name == LC_TARGET)
        return measure_lc(records, target, catalog_of(srcs, LC_TARGET), args.workers, args.time_bin, cache,
                          OUT / f"lc_{args.workers}.fits")
    from skygallery.archive.spectrum import extract_spectra
    load = os.getloadavg()[0]
    started = time.perf_counter()
    run = extract_spectra(records, "ISGR", srcs[0], list(pairwise(EDGES)), None, extra=srcs[1:],
                          workers=args.workers, cache_dir=cache)
    wall = time.perf_counter() - started
    product = _products(run, OUT / f"products_{args.workers}")
    return {"wall": wall, "seconds": run.seconds, "n_cached": run.n_cached, "n_scw": len(run.rates),
            "n_src": len(run.sources), "product": product, "load": load,
            "rss_main": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, "rss_worker": run.peak_rss_mb}


# ------------------------------------------------------------------ orchestration

def _child(kind: str, workers: int, cache: Path, n_scw: int, time_bin: float | None = None) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", kind, "--workers", str(workers),
           "--cache", str(cache), "--scws", str(n_scw)]
    if time_bin is not None:
        cmd += ["--time-bin", str(time_bin)]
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _runs(kind: str, n_scw: int, time_bin: float | None = None) -> list[tuple[str, int, dict]]:
    """cold 1 worker, cold 2 workers (fresh caches), then warm 1 and 2 workers on the second cache."""
    out = []
    caches = {w: OUT / "cache" / f"{kind}_{time_bin or 'scw'}_{w}" for w in (1, 2)}
    for workers in (1, 2):
        shutil.rmtree(caches[workers], ignore_errors=True)
        out.append(("cold", workers, _child(kind, workers, caches[workers], n_scw, time_bin)))
    for workers in (1, 2):
        out.append(("warm", workers, _child(kind, workers, caches[2], n_scw, time_bin)))
    shutil.rmtree(caches[1], ignore_errors=True)
    return out


def _rss(r: dict) -> str:
    worker = r["rss_worker"]
    return f"{r['rss_main']:.0f} / " + ("—" if worker is None or math.isnan(worker) else f"{worker:.0f}")


def _cpu(r: dict) -> str:
    s = r["seconds"]
    return f"{s['read']:.1f} | {s['bin']:.2f} | {s['read_cube']:.2f} | {s['fit']:.1f}"


def spectra_rows(n_scw: int) -> list[str]:
    runs = _runs("spectra", n_scw)
    r0 = runs[0][2]
    header = (f"| spectra: {r0['n_src']} sources × {r0['n_scw']} ISGRI ScWs × {len(EDGES) - 1} channels | cache | "
              "workers | extraction wall (s) | read events (CPU s) | bin + write cubes (CPU s) | read cubes (CPU s) | "
              "fits (CPU s) | products (s) | wall total (s) | peak RSS main / pool worker (MB) | load (1 min) | "
              "target < 20 s cold |")
    rows = [header, "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for mode, workers, r in runs:
        total = r["wall"] + r["product"]
        target = ("PASS" if total < 20 else "FAIL") if mode == "cold" else "—"
        rows.append(f"| read/bin + fit + combine, then PHA/RMF/ARF/PHA-II + 10 fits | {mode} ({r['n_cached']} "
                    f"cached) | {workers} | {r['wall']:.1f} | {_cpu(r)} | {r['product']:.2f} | {total:.1f} | "
                    f"{_rss(r)} | {r['load']:.1f} | {target} |")
    cold, warm = runs[1][2], runs[3][2]
    n = cold["n_scw"]
    rows.append(f"\nper ScW (CPU): cold {1000 * cold['seconds']['read'] / n:.0f} ms reading the events (~1.2 M, "
                f"gzip) + {1000 * cold['seconds']['bin'] / n:.0f} ms binning 16 channels and writing the cube + "
                f"{1000 * cold['seconds']['fit'] / n:.0f} ms fitting (10 PIFs, 16 channels); warm "
                f"{1000 * warm['seconds']['read_cube'] / n:.0f} ms reading the cube + "
                f"{1000 * warm['seconds']['fit'] / n:.0f} ms fitting.")
    return rows


def lc_rows(n_scw: int) -> list[str]:
    header = ("| light curve: 1 source (+ 9 neighbours fitted), ISGRI 20–40 keV | cache | workers | bins | "
              "extraction wall (s) | read events (CPU s) | bin + write cubes (CPU s) | read cubes (CPU s) | "
              "fits (CPU s) | LC products (s) | peak RSS main / pool worker (MB) | load (1 min) | "
              "target < 2 s warm |")
    rows = [header, "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for label, tbin in (("one bin per ScW", None), ("1000 s bins", 1000.0)):
        for mode, workers, r in _runs("lc", n_scw, tbin):
            target = ("PASS" if r["wall"] < 2 else "FAIL") if mode == "warm" else "—"
            rows.append(f"| {r['n_scw']} ScWs, {label} | {mode} ({r['n_cached']} cached) | {workers} | "
                        f"{r['n_bins']} | {r['wall']:.2f} | {_cpu(r)} | {r['product']:.3f} | "
                        f"{_rss(r)} | {r['load']:.1f} | {target} |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reuse", action="store_true", help="reuse the simulated archive in benchmarks/out")
    parser.add_argument("--only", choices=("spectra", "lc"), help="run only this part")
    parser.add_argument("--scws", type=int, default=N_SCW, help=f"number of ScWs (default {N_SCW})")
    parser.add_argument("--measure", choices=("spectra", "lc"), help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--cache", help=argparse.SUPPRESS)
    parser.add_argument("--time-bin", type=float, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(_measure(args)))
        return
    _, sim_s = _archive(args.reuse)
    lines = []
    if args.only in (None, "spectra"):
        lines += ["## Spectra speed", "", *spectra_rows(args.scws)]
    if args.only in (None, "lc"):
        from _lc_speed import acs_rows
        lines += ["", "## Light-curve speed", "", *lc_rows(args.scws), "", *acs_rows()]
    load = os.getloadavg()
    lines.append(f"\nmachine load average at the end: {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} (1 / 5 / 15 min) "
                 f"on {os.cpu_count()} cores; each row ran in a fresh process (pool start-up included)")
    if not math.isnan(sim_s):
        lines.append(f"(simulating the {args.scws}-ScW archive took {sim_s:.0f} s; reuse it with --reuse)")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
