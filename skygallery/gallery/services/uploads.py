"""Validation of uploaded files: names, sizes and contents, before anything is stored."""
from __future__ import annotations

import gzip
import io
import unicodedata
from dataclasses import dataclass
from typing import BinaryIO

import yaml
from astropy.io import fits

from ..errors import InvalidInput, TooLarge
from ..models import FILE_ROLES
from .filestore import FileStore, StagedFile

FITS_ROLES = {"fits", "rmf", "arf"}
FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".pha", ".rmf", ".arf", ".img", ".lc")
IMAGE_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"GIF87a": "image/gif",
               b"GIF89a": "image/gif"}
MIME_BY_ROLE = {"fits": "application/fits", "rmf": "application/fits", "arf": "application/fits",
                "region": "text/plain", "yaml": "application/yaml", "html-attachment": "text/html"}


@dataclass
class Upload:
    """A file as received: its role, the uploader's name for it and a readable stream."""

    role: str
    name: str
    stream: BinaryIO


@dataclass
class CheckedFile:
    role: str
    name: str
    mime: str
    staged: StagedFile


def check_filename(name: str, field: str) -> str:
    """Return the base name of an upload, or raise InvalidInput naming ``field``."""
    if not name or not name.strip():
        raise InvalidInput((field, "file name is empty"))
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        raise InvalidInput((field, "file name contains control characters"))
    if "/" in name or "\\" in name or name.strip() in (".", "..") or ".." in name.split("/"):
        raise InvalidInput((field, f"file name {name!r} must not contain a path"))
    if len(name) > 255:
        raise InvalidInput((field, "file name longer than 255 characters"))
    return name.strip()


def _looks_fits(role: str, name: str) -> bool:
    return role in FITS_ROLES or name.lower().endswith(FITS_SUFFIXES)


def _check_fits(staged: StagedFile, field: str, name: str) -> None:
    head = staged.head
    if head[:2] == b"\x1f\x8b":
        try:
            with gzip.open(staged.temp_path) as handle:
                head = handle.read(80)
        except (OSError, EOFError) as exc:
            raise InvalidInput((field, f"{name}: corrupt gzip data ({exc})")) from None
    if not head.startswith(b"SIMPLE  ="):
        raise InvalidInput((field, f"{name}: not a FITS file (no SIMPLE card)"))
    try:
        with fits.open(staged.temp_path, memmap=False, lazy_load_hdus=False) as hdul:
            for hdu in hdul:
                hdu.header.tostring()
    except Exception as exc:  # astropy raises many kinds on malformed headers
        raise InvalidInput((field, f"{name}: malformed FITS ({type(exc).__name__}: {exc})")) from None


def _text(staged: StagedFile, field: str, name: str) -> str:
    try:
        return staged.temp_path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput((field, f"{name}: not UTF-8 text")) from None


def _mime(role: str, name: str, staged: StagedFile, field: str) -> str:
    if role == "preview":
        for magic, mime in IMAGE_MAGIC.items():
            if staged.head.startswith(magic):
                return mime
        raise InvalidInput((field, f"{name}: a preview must be a PNG, JPEG or GIF image"))
    if _looks_fits(role, name):
        _check_fits(staged, field, name)
        return "application/gzip" if staged.head[:2] == b"\x1f\x8b" else "application/fits"
    if role == "region":
        _text(staged, field, name)
    elif role == "yaml":
        try:
            yaml.safe_load(io.StringIO(_text(staged, field, name)))
        except yaml.YAMLError as exc:
            raise InvalidInput((field, f"{name}: invalid YAML ({exc.__class__.__name__})")) from None
    if role in MIME_BY_ROLE:
        return MIME_BY_ROLE[role]
    lower = name.lower()
    if lower.endswith((".csv", ".txt", ".dat", ".ecsv")):
        return "text/plain"
    if lower.endswith(".json"):
        return "application/json"
    return "application/octet-stream"


def check_uploads(store: FileStore, uploads: list[Upload], limit: int, staged_out: list[StagedFile]) -> list[CheckedFile]:
    """Stage and validate every upload; staged files are appended to ``staged_out`` for clean-up."""
    checked = []
    for i, up in enumerate(uploads):
        field = f"files[{i}]" if not up.role else f"files.{up.role}"
        if up.role not in FILE_ROLES:
            raise InvalidInput((field, f"unknown file role {up.role!r}; one of {', '.join(FILE_ROLES)}"))
        name = check_filename(up.name, field)
        try:
            staged = store.stage(up.stream, limit=limit)
        except OverflowError as exc:
            raise TooLarge(f"{field}: {name}: {exc}") from None
        staged_out.append(staged)
        if staged.size == 0:
            raise InvalidInput((field, f"{name}: empty file"))
        checked.append(CheckedFile(up.role, name, _mime(up.role, name, staged, field), staged))
    return checked
