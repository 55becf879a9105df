"""Writing detected sources: an OSA-like source-list FITS table and a DS9 region file.

The FITS table (EXTNAME ``ISGR-SRCL-RES``, as OSA's ``ii_skyimage`` results) has one row per
detection with NAME, RA_FIN, DEC_FIN (deg, FK5 J2000), DETSIG (σ), FLUX and FLUX_ERR
(counts/s: the INTENSITY and √VARIANCE at the detection pixel, OSA's definition, see
:mod:`.detect`), ERR_RAD (deg, 90 %), NEW_SOURCE (logical), plus FIT_SIG (σ) and FIT_FLUX
(counts/s) from the Gaussian fit, CAT_SEP (arcmin to the identified catalog source, NaN for new
sources) and EXPOSURE (s, NaN when unknown).
Region files use ``regions``: a circle of the 90 % error radius (at least ``min_radius_arcmin``)
labelled with the name, green for catalog sources and red for new ones.
"""
from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from astropy.io import fits

from .detect import Detection

__all__ = ["SRCL_EXTNAME", "read_source_catalog", "write_region_file", "write_source_catalog"]

SRCL_EXTNAME = "ISGR-SRCL-RES"


def write_source_catalog(path: str | os.PathLike, detections: Sequence[Detection],
                         header_extra: dict | None = None, extname: str = SRCL_EXTNAME) -> Path:
    """Write ``detections`` as a FITS binary table; returns the path."""
    def col(name, fmt, values, unit=None):
        return fits.Column(name=name, format=fmt, unit=unit, array=np.asarray(values))
    d = list(detections)
    width = max([len(x.name) for x in d] + [24])
    cols = [col("NAME", f"{width}A", [x.name for x in d]),
            col("RA_FIN", "D", [x.ra_deg for x in d], "deg"),
            col("DEC_FIN", "D", [x.dec_deg for x in d], "deg"),
            col("DETSIG", "E", [x.detsig for x in d]),
            col("FLUX", "E", [x.flux for x in d], "count/s"),
            col("FLUX_ERR", "E", [x.flux_err for x in d], "count/s"),
            col("ERR_RAD", "E", [x.err_rad_deg for x in d], "deg"),
            col("NEW_SOURCE", "L", [bool(x.new_source) for x in d]),
            col("FIT_SIG", "E", [x.fit_sig for x in d]),
            col("FIT_FLUX", "E", [x.fit_flux for x in d], "count/s"),
            col("CAT_SEP", "E", [x.catalog_sep_arcmin for x in d], "arcmin"),
            col("EXPOSURE", "E", [x.exposure_s for x in d], "s")]
    table = fits.BinTableHDU.from_columns(cols, name=extname)
    for key, value in (header_extra or {}).items():
        table.header[key] = value
    path = Path(path)
    fits.HDUList([fits.PrimaryHDU(), table]).writeto(path, overwrite=True)
    return path


def read_source_catalog(path: str | os.PathLike) -> list[dict]:
    """The rows of a source list written by :func:`write_source_catalog` (or OSA's) as dicts."""
    with fits.open(path) as hdul:
        hdu = next((h for h in hdul if isinstance(h, fits.BinTableHDU) and "RA_FIN" in h.columns.names), None)
        if hdu is None:
            raise ValueError(f"{path}: RA_FIN: no source-list table")
        names = hdu.columns.names
        return [{n: (row[n].strip() if isinstance(row[n], str) else row[n].item()) for n in names}
                for row in hdu.data]


def write_region_file(path: str | os.PathLike, detections: Sequence[Detection],
                      min_radius_arcmin: float = 2.0) -> Path:
    """DS9 region file (fk5) with one labelled circle per detection."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from regions import CircleSkyRegion, Regions
    regs = []
    for d in detections:
        radius = max(d.err_rad_deg * 60.0, min_radius_arcmin) * u.arcmin
        reg = CircleSkyRegion(SkyCoord(d.ra_deg, d.dec_deg, unit="deg", frame="fk5"), radius)
        reg.meta["text"] = f"{d.name} ({d.detsig:.1f} sigma)"
        reg.visual["color"] = "red" if d.new_source else "green"
        regs.append(reg)
    path = Path(path)
    Regions(regs).write(str(path), format="ds9", overwrite=True)
    return path
