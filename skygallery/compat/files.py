"""Files of a posted product: the client's field names mapped to our file roles, by content.

``img`` is the preview; ``fits_file``/``fits_file_<i>`` are FITS images, tables, responses (RMF), effective
areas (ARF) or DS9 region files, told apart by their content; ``yaml_file_<i>`` are YAML attachments;
``html_file`` (a JS9 or bokeh page made by the client) is kept as a downloadable attachment, never rendered.
"""
from __future__ import annotations

import gzip
import io
import re
import warnings
from typing import BinaryIO

from astropy.io import fits

from skygallery.gallery.errors import InvalidInput
from skygallery.gallery.models import ProductVersion
from skygallery.gallery.services.filestore import FileStore
from skygallery.gallery.services.uploads import Upload

_FIELD = re.compile(r"^(img|fits_file|yaml_file|html_file)(_\d+)?$")
FIXED_ROLES = {"img": "preview", "yaml_file": "yaml", "html_file": "html-attachment"}
ROLE_GROUP = {"preview": "img", "yaml": "yaml_file", "html-attachment": "html_file"}  # others: fits_file
_REGION = re.compile(r"^\s*(#\s*region file format|global\s|fk4|fk5|icrs|galactic|ecliptic|image|physical|j2000|"
                     r"(circle|ellipse|box|polygon|point|annulus|line|text)\s*\()", re.I | re.M)
RMF_EXTNAMES = {"MATRIX", "SPECRESP MATRIX"}


def _role_of_hdus(hdul) -> str:
    for hdu in hdul:
        extname = str(hdu.header.get("EXTNAME", "")).strip().upper()
        hduclas2 = str(hdu.header.get("HDUCLAS2", "")).strip().upper()
        if extname in RMF_EXTNAMES or hduclas2 == "RSP_MATRIX":
            return "rmf"
        if extname == "SPECRESP" or hduclas2 == "SPECRESP":
            return "arf"
    return "fits"


def _fits_role(stream: BinaryIO, gzipped: bool) -> str:
    """rmf, arf or fits, from the extension names and HDUCLAS keywords (fits when unreadable: the upload
    check then reports what is wrong with it). astropy closes what it opens, so it gets its own handle."""
    path = getattr(stream, "temporary_file_path", None)
    raw = open(path(), "rb") if path else io.BytesIO(stream.read())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with fits.open(gzip.GzipFile(fileobj=raw) if gzipped else raw, memmap=False) as hdul:
                return _role_of_hdus(hdul)
    except Exception:  # astropy and gzip raise many kinds on malformed files
        return "fits"
    finally:
        raw.close()
        stream.seek(0)


def fits_field_role(stream: BinaryIO) -> str:
    """The role of a file posted as ``fits_file``: FITS kinds by content, DS9 regions, else ``other``."""
    head = stream.read(4096)
    stream.seek(0)
    if head[:2] == b"\x1f\x8b" or head.startswith(b"SIMPLE  ="):
        return _fits_role(stream, head[:2] == b"\x1f\x8b")
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return "other"
    return "region" if _REGION.search(text) else "other"


def posted_files(files) -> tuple[list[Upload], set[str]]:
    """Uploads from the client's file fields, and the field groups (img, fits_file, …) that were posted."""
    uploads, groups = [], set()
    for field, items in files.lists():
        match = _FIELD.match(field.strip().lower())
        if not match:
            raise InvalidInput((field, "unknown file field; expected img, fits_file_<i>, yaml_file_<i> or html_file"))
        group = match.group(1)
        groups.add(group)
        for f in items:
            role = FIXED_ROLES.get(group) or fits_field_role(f)
            uploads.append(Upload(role, f.name, f))
    return uploads, groups


def yaml_uploads(files) -> list[Upload]:
    """The YAML attachments of an observation (fields ``yaml_file`` or ``yaml_file_<i>``)."""
    uploads, groups = posted_files(files)
    if groups - {"yaml_file"}:
        raise InvalidInput(("files", "an observation takes only yaml_file or yaml_file_<i>"))
    return uploads


def carried_files(version: ProductVersion, posted_groups: set[str]) -> list[Upload]:
    """The previous version's files of the groups an update does not replace (as a Drupal PATCH keeps the
    fields it is not sent). New FITS files without a new ``img`` also drop the old preview, which showed the
    old data (a new one is drawn). The caller closes the returned streams."""
    store, carried = FileStore(), []
    for f in version.files.order_by("id"):
        group = ROLE_GROUP.get(f.role, "fits_file")
        if group in posted_groups or (f.role == "preview" and "fits_file" in posted_groups):
            continue
        path = store.path(f.sha256)
        if path.exists():
            carried.append(Upload(f.role, f.original_name, path.open("rb")))
    return carried


def file_error_field(field: str) -> str:
    """The client's file field for an upload error named ``files.<role>``."""
    role = field.split(".", 1)[1] if field.startswith("files.") else ""
    return {v: k for k, v in FIXED_ROLES.items()}.get(role, "fits_file") if role else field
