"""Image products: the mosaic of an observation's (or a source's) ScW images, its detections, and
the files posted to the gallery.

For one set of ScW images of one instrument (:func:`make_image_product`, an executor task):

1. variance-weighted mosaic (:func:`skygallery.science.mosaic.make_mosaic`);
2. detection above the threshold (default 7σ) with catalog identification and NEW sources
   (:func:`skygallery.science.detect.detect_sources`, PSF FWHM of the instrument);
3. files: the mosaic in the OSA layout (INTENSITY, VARIANCE, SIGNIFICANCE, EXPOSURE) at the pixel
   of the ScW images and tile-compressed (:func:`_native_resolution`, :func:`_write_compressed`), the
   source list (``<PREFIX>-SRCL-RES`` table), a DS9 region file, the detected-source table as CSV
   and a PNG preview — all in the product's folder (:class:`.folders.ProductFolder`), reused as is
   when the inputs (the ScW image files, threshold, catalog) have not changed.

Detections are returned as dicts (name, ra, dec, flux, flux_err, significance, new_source,
err_rad_deg, exposure_s; flux in counts/s in the band), the shape of the gallery's
``detected_sources``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .cache import atomic_write
from .folders import ProductFolder

__all__ = ["ImageResult", "ImageTask", "make_image_product"]


@dataclass(frozen=True)
class ImageTask:
    product_id: str
    instrument: str
    prefix: str
    band: tuple[float, float]
    image_paths: tuple[str, ...]
    threshold: float
    catalog: str
    products_root: str
    title: str
    inputs: str                   # digest of the inputs (ScW image keys, threshold, catalog, software)


@dataclass
class ImageResult:
    product_id: str
    instrument: str
    files: list[tuple[str, str]] = field(default_factory=list)    # (role, path)
    detections: list[dict] = field(default_factory=list)
    header: dict = field(default_factory=dict)                     # TSTART/TSTOP (IJD), EXPOSURE (s), NINPUTS
    centre: tuple[float, float] = (math.nan, math.nan)             # deg
    seconds: float = 0.0
    cached: bool = False


def _detection_dict(d) -> dict:
    def num(x):
        return None if x is None or not math.isfinite(float(x)) else float(x)
    return {"name": d.name, "ra": float(d.ra_deg), "dec": float(d.dec_deg), "flux": num(d.flux),
            "flux_err": num(d.flux_err), "significance": float(d.detsig), "new_source": bool(d.new_source),
            "err_rad_deg": float(d.err_rad_deg), "exposure_s": num(d.exposure_s)}


def _csv(detections: list[dict]) -> str:
    lines = ["name,ra_deg,dec_deg,flux_counts_s,flux_err_counts_s,significance_sigma,new_source"]
    for d in detections:
        lines.append(f'"{d["name"]}",{d["ra"]:.5f},{d["dec"]:.5f},{d["flux"] if d["flux"] is not None else ""},'
                     f'{d["flux_err"] if d["flux_err"] is not None else ""},{d["significance"]:.2f},'
                     f'{int(d["new_source"])}')
    return "\n".join(lines) + "\n"


def _native_resolution(mosaic, inputs):
    """The mosaic maps decimated back to the pixel of the ScW images (when the mosaic grid is an
    oversampled nearest-neighbour copy, every k×k block holds copies of one input pixel: keeping one
    sample per block loses nothing and keeps SIGNIFICANCE = INTENSITY/√VARIANCE unit-variance)."""
    from astropy.wcs.utils import proj_plane_pixel_scales
    fine = float(min(proj_plane_pixel_scales(mosaic.wcs)))
    native = min(float(min(proj_plane_pixel_scales(im.wcs))) for im in inputs)
    step = max(1, round(native / fine))
    if step == 1:
        return mosaic.images, mosaic.wcs, mosaic.header
    maps = {k: np.ascontiguousarray(v[step // 2::step, step // 2::step]) for k, v in mosaic.images.items()}
    wcs = mosaic.wcs[step // 2::step, step // 2::step]
    header = mosaic.header.copy()
    header.remove("PSFSMO2", ignore_missing=True)
    header["MOSASTEP"] = (step, "Decimated from the detection grid by this factor")
    return maps, wcs, header


QUANTIZE_LEVEL = 16


def _write_compressed(path: Path, write_sky_images, maps, wcs, header, extname: str) -> None:
    """The OSA mosaic file with each map tile-compressed (RICE, floats quantised to 1/16 of the local
    noise as fpack does, fixed dither seed so that the same maps give the same bytes)."""
    from astropy.io import fits
    plain = path.with_name(path.name + ".plain")
    write_sky_images(plain, maps, wcs, header, extname=extname)
    try:
        with fits.open(plain) as hdul:
            out = [hdul[0].copy(), hdul[1].copy()]
            for hdu in hdul[2:]:
                out.append(fits.CompImageHDU(np.asarray(hdu.data, np.float32), hdu.header, compression_type="RICE_1",
                                             quantize_level=QUANTIZE_LEVEL, dither_seed=1))
            fits.HDUList(out).writeto(path, overwrite=True)
    finally:
        plain.unlink(missing_ok=True)


def make_image_product(task: ImageTask) -> ImageResult:
    """Mosaic, detections and files of one image product (module docstring)."""
    folder = ProductFolder(task.products_root, task.product_id)
    cached = folder.cached(task.inputs)
    if cached is not None:
        data = cached["data"]
        return ImageResult(task.product_id, task.instrument, folder.files(cached),
                           data["detections"], data["header"], tuple(data["centre"]), 0.0, True)
    started = time.perf_counter()
    from skygallery.science.catalog import load_reference_catalog
    from skygallery.science.detect import DetectionConfig, detect_sources
    from skygallery.science.mosaic import make_mosaic
    from skygallery.science.osa_images import (
        SkyImages,
        read_sky_images,
        write_sky_images,
    )
    from skygallery.science.source_list import write_source_catalog

    from .plots import sky_preview
    from .scw_tasks import instrument_for

    inputs = [read_sky_images(p) for p in task.image_paths]
    mosaic = make_mosaic(inputs)
    stem = folder.product_id
    catalog = load_reference_catalog(task.catalog or None)
    psf = instrument_for(task.prefix, None).psf_fwhm_arcmin
    sky = SkyImages(mosaic.images, mosaic.header + mosaic.wcs.to_header(), extname=f"{task.prefix}-MOSA-IMA")
    found = detect_sources(sky, catalog, DetectionConfig(threshold_sigma=task.threshold, psf_fwhm_arcmin=psf))
    detections = [_detection_dict(d) for d in found]
    maps, wcs, header = _native_resolution(mosaic, inputs)
    names = {"fits": f"{stem}_mosa_ima.fits", "srcl": f"{stem}_srcl_res.fits", "region": f"{stem}.reg",
             "table": f"{stem}_sources.csv", "preview": f"{stem}.png"}
    atomic_write(folder.file(names["fits"]), lambda tmp: _write_compressed(
        tmp, write_sky_images, maps, wcs, header, f"{task.prefix}-MOSA-IMA"))
    extra = {"E_MIN": task.band[0], "E_MAX": task.band[1], "INSTRUME": task.instrument.upper()}
    atomic_write(folder.file(names["srcl"]),
                 lambda tmp: write_source_catalog(tmp, found, extra, extname=f"{task.prefix}-SRCL-RES"))
    atomic_write(folder.file(names["region"]), lambda tmp: _regions(tmp, found))
    atomic_write(folder.file(names["table"]), lambda tmp: tmp.write_text(_csv(detections)))
    atomic_write(folder.file(names["preview"]),
                 lambda tmp: sky_preview(tmp, maps["SIGNIFICANCE"], wcs, detections, task.title))
    centre = tuple(float(v) for v in mosaic.wcs.wcs.crval)
    header = {k: float(mosaic.header[k]) for k in ("TSTART", "TSTOP", "EXPOSURE", "ONTIME") if k in mosaic.header}
    header["NINPUTS"] = len(inputs)
    files = [("fits", names["fits"]), ("fits", names["srcl"]), ("region", names["region"]),
             ("table", names["table"]), ("preview", names["preview"])]
    folder.commit(task.inputs, files, {"detections": detections, "header": header, "centre": list(centre)})
    return ImageResult(task.product_id, task.instrument, [(r, str(folder.path / n)) for r, n in files], detections,
                       header, centre, time.perf_counter() - started, False)


def _regions(path: Path, found) -> None:
    """DS9 regions; an empty detection list still gives a valid (header-only) region file."""
    from skygallery.science.source_list import write_region_file
    if found:
        write_region_file(path, found)
    else:
        path.write_text("# Region file format: DS9\n# no source detected\nfk5\n")
