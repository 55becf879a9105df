"""OGIP FITS plumbing shared by spectra and responses: finding HDUs by their OGIP class, and
writing binary tables that keep a template header (keywords, values, comments) and the original
column formats, so that a file read and written back is unchanged.

HDUs are found by ``HDUCLAS1``/``HDUCLAS2`` first (the ISDC files use their own EXTNAMEs such as
``ISGR-EVTS-SPE``, ``ISGR-RMF.-RSP``, ``ISGR-EBDS-MOD``, ``ISGR-ARF.-RSP``), then by the standard
EXTNAMEs (``SPECTRUM``, ``MATRIX``/``SPECRESP MATRIX``, ``EBOUNDS``, ``SPECRESP``).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.io import fits

__all__ = ["STRUCTURAL", "TableColumn", "find_hdu", "merge_header", "open_fits", "table_hdu", "text"]

# keywords astropy derives from the data/columns when writing a table
STRUCTURAL = ("XTENSION", "BITPIX", "NAXIS", "NAXIS1", "NAXIS2", "PCOUNT", "GCOUNT", "TFIELDS", "CHECKSUM",
              "DATASUM", "THEAP")
_COLUMN_KEYS = ("TTYPE", "TFORM", "TUNIT", "TNULL", "TSCAL", "TZERO", "TDISP", "TDIM", "TBCOL")


@dataclass
class TableColumn:
    """One column to write: name, FITS format (e.g. ``1E``, ``256E``, ``PE()``), unit, values."""

    name: str
    format: str
    array: object
    unit: str | None = None
    extra: dict = field(default_factory=dict)


def text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value).strip()


def open_fits(path: str | os.PathLike, what: str) -> fits.HDUList:
    """Open a FITS file, turning a missing/unreadable file into ValueError naming ``what``."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"{what}: {p}: no such file")
    try:
        hdul = fits.open(p, memmap=False)
        hdul.verify("silentfix")
    except (OSError, TypeError, ValueError) as exc:
        raise ValueError(f"{what}: {p}: not a readable FITS file ({exc})") from None
    return hdul


def find_hdu(hdul: fits.HDUList, hduclas: tuple[str, ...], extnames: tuple[str, ...], what: str,
             path: str | os.PathLike = "") -> fits.BinTableHDU:
    """The first binary table whose HDUCLAS1/HDUCLAS2 is in ``hduclas`` or EXTNAME in ``extnames``."""
    tables = [h for h in hdul[1:] if isinstance(h, fits.BinTableHDU)]
    for h in tables:
        classes = {text(h.header.get(k, "")).upper() for k in ("HDUCLAS1", "HDUCLAS2")}
        if classes & {c.upper() for c in hduclas}:
            return h
    for h in tables:
        if text(h.header.get("EXTNAME", "")).upper() in {e.upper() for e in extnames}:
            return h
    raise ValueError(f"{what}: {path}: no {'/'.join(extnames)} table (HDUCLAS {'/'.join(hduclas)})")


def table_hdu(columns: list[TableColumn], template: fits.Header | None = None,
              extname: str | None = None) -> fits.BinTableHDU:
    """A binary table of ``columns`` whose other keywords come from ``template`` — values,
    comments and card order kept (the mandatory cards first, as FITS requires)."""
    cols = [fits.Column(name=c.name, format=c.format, unit=c.unit, array=c.array, **c.extra)
            for c in columns]
    hdu = fits.BinTableHDU.from_columns(cols)
    if template is not None:
        hdu.header = merge_header(hdu.header, template)
    if extname:
        hdu.header["EXTNAME"] = extname
    return hdu


def merge_header(generated: fits.Header, template: fits.Header) -> fits.Header:
    """``generated`` (mandatory and column cards describing the data) merged into ``template``'s
    card order: data-describing cards take the generated values, every other card the template's."""
    out = fits.Header()
    n_mandatory = 0
    for card in generated.cards:            # XTENSION .. TFIELDS (or SIMPLE .. EXTEND)
        if card.keyword not in STRUCTURAL + ("SIMPLE", "EXTEND"):
            break
        comment = template.comments[card.keyword] if card.keyword in template else card.comment
        out.append((card.keyword, card.value, comment))
        n_mandatory += 1
    described = {c.keyword for c in generated.cards[n_mandatory:]}
    used = set()
    for card in template.cards:
        key = card.keyword
        if key in ("COMMENT", "HISTORY", ""):
            out.append((key, card.value), bottom=True)
        elif key in out or key in ("CHECKSUM", "DATASUM"):
            continue
        elif key in described:
            out.append((key, generated[key], card.comment or generated.comments[key]))
            used.add(key)
        elif key.startswith("TUNIT") and key[5:].isdigit() and int(key[5:]) <= generated.get("TFIELDS", 0) \
                and not str(card.value).strip():
            out.append((key, card.value, card.comment))   # an explicit empty unit, kept as written
        elif key.startswith(_COLUMN_KEYS):
            continue                        # a column keyword the data no longer has
        else:
            out.append((key, card.value, card.comment))
    for card in generated.cards[n_mandatory:]:
        if card.keyword not in used and card.keyword not in out:
            out.append((card.keyword, card.value, card.comment))
    return out


def array_or_none(data, name: str):
    """Column ``name`` of a FITS table as an array, or None when absent."""
    return np.asarray(data[name]) if name in data.columns.names else None
