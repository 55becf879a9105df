"""From archive ScWs to products: ScW sky images, a mosaic, a source catalog and regions.

``run_imaging`` images every selected ScW in one band (cleaned, catalog sources first), writes
``<out>/scw/<SWID>_<inst>_sky_ima.fits`` and, as OSA's ``ii_skyimage`` does per ScW, the
sources detected on it (same detection settings as the mosaic) in
``<out>/scw/<SWID>_<inst>_srcl.fits``; then mosaics the ScWs (``<out>/<inst>_mosa_ima.fits``),
detects sources on the mosaic and writes ``<out>/<inst>_srcl.fits`` and ``<out>/<inst>_srcl.reg``.
"""
from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from skygallery.science.detect import Detection, DetectionConfig, detect_sources
from skygallery.science.imaging.clean import CleanConfig
from skygallery.science.imaging.scw_image import (
    DEFAULT_CLEAN,
    make_scw_images,
    write_scw_images,
)
from skygallery.science.instruments import isgri, jemx
from skygallery.science.mosaic import make_mosaic
from skygallery.science.osa_images import SkyImages, write_sky_images
from skygallery.science.source_list import write_region_file, write_source_catalog

from .events import read_scw
from .layout import ScwRecord

__all__ = ["INSTRUMENTS", "ImagingRun", "default_detection", "image_scws", "run_imaging"]

INSTRUMENTS = {"ISGR": (isgri, "isgri"), "JMX1": (lambda: jemx(1), "jmx1"), "JMX2": (lambda: jemx(2), "jmx2")}


@dataclass
class ImagingRun:
    scw_images: list[Path] = field(default_factory=list)
    mosaic: Path | None = None
    catalog: Path | None = None
    regions: Path | None = None
    detections: list[Detection] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    scw_catalogs: list[Path] = field(default_factory=list)   # per-ScW source lists


def _instrument(prefix: str, efficiency):
    if prefix not in INSTRUMENTS:
        raise ValueError(f"instrument: unknown {prefix!r} ({', '.join(INSTRUMENTS)})")
    inst = INSTRUMENTS[prefix][0]()
    if efficiency is not None:
        if efficiency.shape != inst.detector.shape:
            raise ValueError(f"{prefix}-PIX-EFF: shape {efficiency.shape} differs from {inst.detector.shape}")
        inst = inst.with_dead_pixels(efficiency <= 0)
    return inst


def default_detection(prefix: str, threshold_sigma: float = 7.0) -> DetectionConfig:
    """Detection settings of an instrument: PSF FWHM 12′ (ISGRI) or 3.3′ (JEM-X)."""
    return DetectionConfig(threshold_sigma=threshold_sigma, psf_fwhm_arcmin=12.0 if prefix == "ISGR" else 3.3)


def image_scws(records: Sequence[ScwRecord], prefix: str, band_kev: tuple[float, float], out_dir: Path,
               catalog=None, clean: CleanConfig | None = DEFAULT_CLEAN,
               progress: Callable[[int], None] | None = None, detection: DetectionConfig | None = None,
               scw_catalogs: list[Path] | None = None) -> tuple[list[SkyImages], list[Path], list[str]]:
    """ScW images of ``records`` (ScWs without this instrument's events are skipped and listed),
    each with its source list; the source-list paths are appended to ``scw_catalogs``."""
    images, paths, skipped = [], [], []
    (out_dir / "scw").mkdir(parents=True, exist_ok=True)
    tag = INSTRUMENTS[prefix][1]
    detection = detection or default_detection(prefix)
    for n, rec in enumerate(records, 1):
        try:
            data = read_scw(rec.path, prefix)
        except ValueError as exc:
            skipped.append(f"{rec.scw_id}: {exc}")
            continue
        inst = _instrument(prefix, data.efficiency)
        sky, _ = make_scw_images(data.det_y, data.det_x, data.energy_kev, band_kev, inst, data.exposure_s,
                                 data.pointing, data.header, catalog, clean)
        path = write_scw_images(out_dir / "scw" / f"{data.swid}_{tag}_sky_ima.fits", sky)
        found = detect_sources(sky, catalog, detection)
        srcl = write_source_catalog(out_dir / "scw" / f"{data.swid}_{tag}_srcl.fits", found,
                                    {"SWID": data.swid, "E_MIN": band_kev[0], "E_MAX": band_kev[1]},
                                    extname=f"{prefix}-SRCL-RES")
        if scw_catalogs is not None:
            scw_catalogs.append(srcl)
        images.append(sky)
        paths.append(path)
        if progress:
            progress(n)
    return images, paths, skipped


def run_imaging(records: Sequence[ScwRecord], out_dir: str | os.PathLike, prefix: str = "ISGR",
                band_kev: tuple[float, float] = (20.0, 40.0), catalog=None,
                detection: DetectionConfig | None = None, clean: CleanConfig | None = DEFAULT_CLEAN,
                progress: Callable[[str, int], None] | None = None) -> ImagingRun:
    """ScW images, mosaic, detection, catalog and regions (see the module docstring)."""
    out = Path(out_dir)
    if not records:
        raise ValueError("scws: no science windows selected")
    tag = INSTRUMENTS.get(prefix, (None, None))[1]
    if tag is None:
        raise ValueError(f"instrument: unknown {prefix!r} ({', '.join(INSTRUMENTS)})")
    detection = detection or default_detection(prefix)
    scw_catalogs: list[Path] = []
    images, paths, skipped = image_scws(records, prefix, band_kev, out, catalog, clean,
                                        (lambda n: progress("image", n)) if progress else None, detection,
                                        scw_catalogs)
    run = ImagingRun(scw_images=paths, skipped=skipped, scw_catalogs=scw_catalogs)
    if not images:
        raise ValueError(f"scws: none of the {len(records)} ScWs has {prefix} events")
    mosaic = make_mosaic(images)
    run.mosaic = write_sky_images(out / f"{tag}_mosa_ima.fits", mosaic.images, mosaic.wcs, mosaic.header,
                                  extname=f"{prefix}-MOSA-IMA")
    run.detections = detect_sources(SkyImages(mosaic.images, mosaic.header + mosaic.wcs.to_header()), catalog,
                                    detection)
    run.catalog = write_source_catalog(out / f"{tag}_srcl.fits", run.detections,
                                       {"E_MIN": band_kev[0], "E_MAX": band_kev[1]}, extname=f"{prefix}-SRCL-RES")
    run.regions = write_region_file(out / f"{tag}_srcl.reg", run.detections)
    if progress:
        progress("done", len(records))
    return run
