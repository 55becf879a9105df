"""Reading and writing sky images in the OSA (ISDC) layout: ScW images and mosaics.

A file holds one image HDU per IMATYPE (``INTENSITY`` counts/s, ``VARIANCE`` (counts/s)**2,
``SIGNIFICANCE``, ``RESIDUAL`` counts/s, ``EXPOSURE`` s), all on the same TAN grid, with
EXTNAME ``ISGR-SKY.-IMA`` (single ScW, rotated by the position angle) or ``ISGR-MOSA-IMA``
(mosaic, north up); JEM-X uses ``JMXi-SKY.-IMA`` / ``JMXi-MOSA-IMA``. OSA files also carry
a ``GROUPING`` index table; we write one (member extension, name, position, IMATYPE, band).

Reading is tolerant in what it accepts: any image HDU with an ``IMATYPE`` keyword counts,
and a file with a single image HDU and no ``IMATYPE`` is taken as a significance map (the
"significance only" files some tools export). Anything else is refused with an error that
names the file and the missing field.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.wcs import WCS, FITSFixedWarning

__all__ = [
    "COPIED_KEYWORDS",
    "IMATYPES_MOSAIC",
    "IMATYPES_SCW",
    "SkyImages",
    "image_extname",
    "read_sky_images",
    "write_sky_images",
]

IMATYPES_SCW = ("INTENSITY", "VARIANCE", "SIGNIFICANCE", "RESIDUAL", "EXPOSURE")
IMATYPES_MOSAIC = ("INTENSITY", "VARIANCE", "SIGNIFICANCE", "EXPOSURE")
BUNITS = {"INTENSITY": "counts/sec", "VARIANCE": "(counts/sec)**2", "SIGNIFICANCE": "",
          "RESIDUAL": "counts/sec", "EXPOSURE": "sec"}
# OSA keywords carried from the input header to the images we write (when present).
COPIED_KEYWORDS = ("TELESCOP", "INSTRUME", "DETNAM", "MJDREF", "TIMESYS", "TIMEUNIT", "TIMEREF",
                   "DATE-OBS", "DATE-END", "TSTART", "TSTOP", "TELAPSE", "ONTIME", "DEADC", "EXPOSURE",
                   "REVOL", "SWID", "SW_TYPE", "E_MIN", "E_MEAN", "E_MAX", "CHANMIN", "CHANMAX",
                   "NINPUTS", "PSFSMO2", "MOSAORDR", "POSANGLE", "RA_SCX", "DEC_SCX", "RA_SCZ", "DEC_SCZ",
                   "OVERSAMP")
_WCS_KEYS = ("CTYPE1", "CTYPE2", "CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2", "CUNIT1", "CUNIT2",
             "CD1_1", "CD1_2", "CD2_1", "CD2_2", "CDELT1", "CDELT2", "PC1_1", "PC1_2", "PC2_1", "PC2_2",
             "CROTA2", "LONPOLE", "LATPOLE", "RADESYS", "EQUINOX")


@dataclass
class SkyImages:
    """Co-registered sky images keyed by IMATYPE, with the header of the first image HDU.

    ``images`` values are float64 arrays indexed [y, x] (FITS axis 2, axis 1); ``extname`` is
    the EXTNAME they were read with (or will be written with); ``path`` the source file.
    """

    images: dict[str, np.ndarray]
    header: fits.Header
    extname: str = "ISGR-MOSA-IMA"
    path: str = ""
    meta: dict = field(default_factory=dict)

    @property
    def wcs(self) -> WCS:
        return celestial_wcs(self.header)

    @property
    def shape(self) -> tuple[int, int]:
        return next(iter(self.images.values())).shape

    def get(self, imatype: str) -> np.ndarray | None:
        return self.images.get(imatype.upper())

    @property
    def significance(self) -> np.ndarray:
        """The significance map, computed as INTENSITY/√VARIANCE when the file has none."""
        sig = self.get("SIGNIFICANCE")
        if sig is not None:
            return sig
        inten, var = self.get("INTENSITY"), self.get("VARIANCE")
        if inten is None or var is None:
            raise ValueError(f"{self.path or 'images'}: IMATYPE: no SIGNIFICANCE and no INTENSITY+VARIANCE")
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(var > 0, inten / np.sqrt(np.where(var > 0, var, 1.0)), 0.0)


def celestial_wcs(header: fits.Header) -> WCS:
    """The TAN WCS of an OSA image header (deprecated ``RADECSYS`` accepted silently)."""
    import warnings
    hdr = fits.Header()
    for key in _WCS_KEYS:
        if key in header:
            hdr[key] = header[key]
    if "RADESYS" not in hdr and "RADECSYS" in header:
        hdr["RADESYS"] = str(header["RADECSYS"]).strip()
    for key in ("CTYPE1", "CTYPE2", "CRPIX1", "CRPIX2", "CRVAL1", "CRVAL2"):
        if key not in hdr:
            raise ValueError(f"{key}: missing from the image header (no sky coordinates)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FITSFixedWarning)
        wcs = WCS(hdr, naxis=2)
    if not wcs.has_celestial:
        raise ValueError(f"CTYPE1/CTYPE2: {hdr['CTYPE1']!r}/{hdr['CTYPE2']!r} is not a celestial projection")
    return wcs


def read_sky_images(path: str | os.PathLike) -> SkyImages:
    """All sky images of an OSA-format file (ScW or mosaic), keyed by IMATYPE."""
    path = Path(path)
    try:
        hdul = fits.open(path, memmap=False)
    except FileNotFoundError:
        raise
    except Exception as exc:  # noqa: BLE001 — astropy raises OSError/ValueError/TypeError/... on garbage
        raise ValueError(f"{path}: not a readable FITS file ({exc})") from None
    with hdul:
        image_hdus = [h for h in hdul if h.is_image and h.data is not None and np.ndim(h.data) == 2]
        if not image_hdus:
            raise ValueError(f"{path}: no 2-D image HDU (expected EXTNAME ISGR-SKY.-IMA / ISGR-MOSA-IMA)")
        typed = [h for h in image_hdus if "IMATYPE" in h.header]
        if not typed and len(image_hdus) == 1:
            typed_pairs = [("SIGNIFICANCE", image_hdus[0])]
        elif not typed:
            raise ValueError(f"{path}: IMATYPE: {len(image_hdus)} image HDUs but none has an IMATYPE keyword")
        else:
            typed_pairs = [(str(h.header["IMATYPE"]).strip().upper(), h) for h in typed]
        images: dict[str, np.ndarray] = {}
        first = typed_pairs[0][1]
        for imatype, hdu in typed_pairs:
            if hdu.data.shape != first.data.shape:
                raise ValueError(f"{path}: NAXIS: IMATYPE {imatype} has shape {hdu.data.shape}, "
                                 f"expected {first.data.shape}")
            images.setdefault(imatype, np.nan_to_num(np.asarray(hdu.data, dtype=np.float64),
                                                     nan=0.0, posinf=0.0, neginf=0.0))
        header = first.header.copy()
        extname = str(header.get("EXTNAME", "")).strip() or "SKY-IMA"
    result = SkyImages(images=images, header=header, extname=extname, path=str(path))
    celestial_wcs(header)  # validate the coordinates now, with a message naming the keyword
    return result


def image_extname(instrument: str, mosaic: bool) -> str:
    """``ISGR-MOSA-IMA`` / ``ISGR-SKY.-IMA`` / ``JMX1-MOSA-IMA`` … for an instrument name."""
    inst = instrument.upper().replace("-", "")
    prefix = {"ISGRI": "ISGR", "IBIS": "ISGR", "JEMX1": "JMX1", "JEMX2": "JMX2"}.get(inst)
    if prefix is None:
        raise ValueError(f"instrument: unknown {instrument!r} (ISGRI, JEMX1, JEMX2)")
    return f"{prefix}-{'MOSA' if mosaic else 'SKY.'}-IMA"


def _image_header(base: fits.Header, wcs_header: fits.Header, imatype: str, extname: str) -> fits.Header:
    hdr = fits.Header()
    hdr["EXTNAME"] = extname
    for key in COPIED_KEYWORDS:
        if key in base:
            hdr[key] = base[key]
    hdr.update(wcs_header)
    hdr.setdefault("RADECSYS", "FK5")
    hdr.setdefault("EQUINOX", 2000.0)
    hdr["HDUCLASS"] = "OGIP"
    hdr["HDUDOC"] = "ISDC-IBIS ICD"
    hdr["HDUCLAS1"] = "IMAGE"
    hdr["IMATYPE"] = (imatype, "Type of image")
    hdr["BUNIT"] = (BUNITS.get(imatype, ""), "Unit for pixel values")
    hdr["CREATOR"] = ("skygallery.science", "Program that created this data")
    return hdr


def _grouping_table(extname: str, members: list[tuple[str, fits.Header]]) -> fits.BinTableHDU:
    n = len(members)
    cols = [fits.Column("MEMBER_XTENSION", "8A", array=["IMAGE"] * n),
            fits.Column("MEMBER_NAME", "32A", array=[extname] * n),
            fits.Column("MEMBER_POSITION", "1J", array=np.arange(2, n + 2)),
            fits.Column("IMATYPE", "32A", array=[m[0] for m in members]),
            fits.Column("E_MIN", "1E", unit="keV", array=[m[1].get("E_MIN", np.nan) for m in members]),
            fits.Column("E_MAX", "1E", unit="keV", array=[m[1].get("E_MAX", np.nan) for m in members])]
    hdu = fits.BinTableHDU.from_columns(cols, name="GROUPING")
    hdu.header["GRPNAME"] = f"{extname}-IDX"
    hdu.header["IDXMEMBR"] = extname
    return hdu


def write_sky_images(path: str | os.PathLike, images: dict[str, np.ndarray], wcs: WCS,
                     base_header: fits.Header | None = None, extname: str = "ISGR-MOSA-IMA",
                     overwrite: bool = True) -> Path:
    """Write ``images`` (IMATYPE → 2-D array) as an OSA image file: PRIMARY, GROUPING, images."""
    base = base_header if base_header is not None else fits.Header()
    wcs_header = wcs.to_header()
    for key in ("PC1_1", "PC1_2", "PC2_1", "PC2_2", "CDELT1", "CDELT2"):
        wcs_header.remove(key, ignore_missing=True)
    cd = wcs.pixel_scale_matrix
    for (i, j), value in np.ndenumerate(cd):
        wcs_header[f"CD{i + 1}_{j + 1}"] = float(value)
    for key in ("MJDREF", "DATEREF", "MJD-OBS", "MJD-END", "DATE-OBS", "DATE-END"):
        wcs_header.remove(key, ignore_missing=True)
    hdus = []
    for imatype, data in images.items():
        hdr = _image_header(base, wcs_header, imatype.upper(), extname)
        hdus.append(fits.ImageHDU(np.asarray(data, dtype=np.float32), header=hdr))
    grouping = _grouping_table(extname, [(h.header["IMATYPE"], h.header) for h in hdus])
    primary = fits.PrimaryHDU()
    primary.header["ORIGIN"] = "SkyGallery"
    path = Path(path)
    fits.HDUList([primary, grouping, *hdus]).writeto(path, overwrite=overwrite)
    return path
