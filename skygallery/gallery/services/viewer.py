"""What the product page's viewers load: a significance map for JS9, DS9 regions of the detected
sources, and bokeh plots of light curves and spectra, all made from the stored FITS files."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from astropy.io import fits

from ..models import ProductVersion
from .filestore import FileStore
from .fitsdata import read_sky_image

COLOURS = {False: "lime", True: "magenta"}  # known sources, new sources
REGION_RADIUS_ARCSEC = {"isgri": 1200.0, "jemx1": 480.0, "jemx2": 480.0}  # ~4 sky pixels


def viewer_kind(meta: dict) -> str | None:
    """``js9`` for images, ``bokeh`` for light curves and spectra, None when there is no FITS file to show."""
    if not any(f["role"] == "fits" for f in meta.get("files", [])):
        return None
    return {"image": "js9", "lightcurve": "bokeh", "spectrum": "bokeh"}.get(meta.get("family"))


def region_radius_arcsec(instrument: str) -> float:
    return REGION_RADIUS_ARCSEC.get(instrument, 600.0)


def detections_region(detected: list[dict], radius_arcsec: float = 600.0) -> str:
    """DS9 region text (fk5 circles with names); new sources in another colour."""
    lines = ["# Region file format: DS9", "global font=\"helvetica 10 normal\" width=2", "fk5"]
    for d in detected:
        name = str(d["name"]).replace("{", "(").replace("}", ")")
        colour = COLOURS[bool(d.get("new_source"))]
        lines.append(f"circle({d['ra']:.5f},{d['dec']:.5f},{radius_arcsec:.1f}\") # color={colour} text={{{name}}}")
    return "\n".join(lines) + "\n"


def version_paths(version: ProductVersion, roles=("fits", "rmf", "arf")) -> list[Path]:
    """Store paths of a version's FITS-like files, in posting order."""
    store = FileStore()
    return [store.path(f.sha256) for f in version.files.filter(role__in=roles).order_by("id")
            if store.exists(f.sha256)]


def significance_fits(version: ProductVersion) -> bytes | None:
    """A one-HDU FITS file with the version's significance map and its WCS, for JS9 (None if no image)."""
    for path in version_paths(version, ("fits",)):
        image = read_sky_image(path)
        if image is None:
            continue
        header = image.wcs.to_header() if image.wcs is not None else fits.Header()
        header["IMATYPE"] = image.imatype
        if image.e_min is not None:
            header["E_MIN"], header["E_MAX"] = image.e_min, image.e_max
        buf = io.BytesIO()
        fits.PrimaryHDU(np.asarray(image.data, dtype=np.float32), header=header).writeto(buf)
        return buf.getvalue()
    return None


def plot_item(version: ProductVersion) -> dict | None:
    """The bokeh ``json_item`` of a light curve or spectrum version (None when nothing is plottable)."""
    from .plots import plot_for
    return plot_for(version.metadata.get("family", ""), version_paths(version))
