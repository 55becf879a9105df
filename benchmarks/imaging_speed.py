"""Imaging speed on one core (``python benchmarks/imaging_speed.py``); prints markdown tables.

Per ScW and band (ISGRI, ≥ 1 M events): read (gzip FITS), binning, FFT decoding on OSA's grid
and on the 2× finer grid the ScW images are written on (target shadowgram + decode < 0.5 s),
cleaning; simulation speed; mosaics of 20, 40 and 80 ScW images (target < 30 s for 80) and
their scaling; peak resident memory.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from skygallery.archive.events import read_scw
from skygallery.science.attitude import Pointing, scw_wcs
from skygallery.science.catalog import load_reference_catalog
from skygallery.science.imaging.clean import clean_scw
from skygallery.science.imaging.decode import decode
from skygallery.science.imaging.scw_image import make_scw_images
from skygallery.science.imaging.shadow import bin_shadowgram
from skygallery.science.instruments import isgri
from skygallery.science.mosaic import make_mosaic
from skygallery.science.osa_images import SkyImages
from skygallery.science.simulate.archive import simulate_archive
from skygallery.science.simulate.plan import Observation
from skygallery.science.simulate.sky import SimSource, SkyModel

REPEAT = 5


def timed(fn, repeat=REPEAT):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def per_scw(tmp: Path) -> SkyImages:
    sky = SkyModel([SimSource.from_mcrab("Crab", 83.633, 22.014, 1000.0),
                    SimSource.from_mcrab("1A 0535+262", 84.727, 26.316, 100.0)])
    obs = [Observation("Crab", 83.633, 22.014, "staring", 1, pointing_s=3600.0)]
    t = time.perf_counter()
    simulate_archive(tmp, 665, obs, sky, seed=1, instruments=("ISGR",))
    t_sim = time.perf_counter() - t
    scw = next((tmp / "scw" / "0665").iterdir())
    t_read, data = timed(lambda: read_scw(scw, "ISGR"))
    inst = isgri().with_dead_pixels(data.efficiency <= 0)
    n = len(data.energy_kev)
    t_bin, sg = timed(lambda: bin_shadowgram(data.det_y, data.det_x, data.energy_kev, (20.0, 40.0),
                                             inst.detector.shape))
    decode(sg, inst, data.exposure_s)  # warm the cached decoding arrays
    decode(sg, inst, data.exposure_s, oversample=2)
    t_fft1, _ = timed(lambda: decode(sg, inst, data.exposure_s))
    t_fft, _ = timed(lambda: decode(sg, inst, data.exposure_s, oversample=2))
    catalog = load_reference_catalog(None)
    clean_scw(sg, inst, data.exposure_s, data.pointing, catalog)  # warm PSF templates
    t_clean, res = timed(lambda: clean_scw(sg, inst, data.exposure_s, data.pointing, catalog), 3)
    print(f"\n### Per ScW (ISGRI, 20–40 keV, {n / 1e6:.2f} M events, one core, median of {REPEAT})\n")
    print("| step | time (s) |\n|---|---|")
    print(f"| simulate + write (all energies, gzip) | {t_sim:.2f} |")
    print(f"| read events (gzip FITS) | {t_read:.3f} |")
    print(f"| bin shadowgram | {t_bin:.3f} |")
    print(f"| balanced FFT decoding, OSA grid 4.94′ (365×361) | {t_fft1:.3f} |")
    print(f"| balanced FFT decoding, image grid 2.47′ (729×721; intensity, variance, significance) | {t_fft:.3f} |")
    print(f"| **shadowgram + decode (target < 0.5)** | **{t_bin + t_fft:.3f}** |")
    print(f"| read + bin + decode | {t_read + t_bin + t_fft:.3f} |")
    print(f"| cleaning ({len(res.sources)} sources) | {t_clean:.3f} |")
    sky_images, _ = make_scw_images(data.det_y, data.det_x, data.energy_kev, (20.0, 40.0), inst, data.exposure_s,
                                    data.pointing, data.header, catalog)
    return sky_images


def mosaics(template: SkyImages) -> None:
    rng = np.random.default_rng(7)
    base = {k: v.copy() for k, v in template.images.items()}
    inputs = []
    for i in range(80):
        p = Pointing(float(83.6 + rng.uniform(-6, 6)) % 360, float(22.0 + rng.uniform(-6, 6)),
                     float(rng.uniform(0, 360)))
        wcs = scw_wcs(p, base["INTENSITY"].shape, template.wcs.proj_plane_pixel_scales()[0].value)
        header = template.header.copy()
        header.update(wcs.to_header())
        inputs.append(SkyImages(base, header, extname="ISGR-SKY.-IMA"))
    ny0, nx0 = template.shape
    print(f"\n### Mosaics ({nx0}×{ny0} ScW images at 2.47′, random pointings ±6° and position angles, "
          f"nearest-neighbour onto a 1.23′ grid)\n")
    print("| ScWs | time (s) | s per ScW | mosaic pixels |\n|---|---|---|---|")
    for n in (20, 40, 80):
        t = time.perf_counter()
        m = make_mosaic(inputs[:n])
        dt = time.perf_counter() - t
        ny, nx = m.images["INTENSITY"].shape
        print(f"| {n} | {dt:.1f} | {dt / n:.3f} | {nx}×{ny} |")


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        template = per_scw(Path(tmp))
    mosaics(template)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak resident memory: {peak_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
