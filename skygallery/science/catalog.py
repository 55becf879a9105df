"""Reference source catalogs: the ISDC General Reference Catalog and a built-in bright list.

Pure library (numpy + astropy). The ISDC catalog (``gnrl_refr_cat_00NN.fits`` or its
subsets, EXTNAME ``GNRL-REFR-CAT``) is read at run time from a configured path and never
copied into the project. Without a path, a small hand-written list of bright hard-X-ray
sources (``data/bright_sources.json``, SIMBAD positions and object types) is used.

Alias parsing (``COMMENTS`` column), rule by rule:

1. Byte strings are decoded, the text stripped. A period followed by white space right
   after a digit (``"1WGA J1832.3-0840. AX J1832..."``) separates entries like a comma.
2. Split on commas. When the text fills the fixed-width column (all of it, or all but one
   character, a trailing blank that FITS reading strips) and does not end with a comma,
   its last entry was cut by the column width (``"..., QSO B1"``, ``"..., Tau"`` for
   "Tau A") and is dropped; a complete entry that happens to end there is lost too.
3. Each entry is stripped of trailing ``?`` / ``(?)`` marks; ``-`` and empty entries go.
4. Free-text notes are dropped (URLs, bibcodes, "et al.", entries starting with ``in``,
   ``too``, ``also``, ``see``, ``possibly``, ``ATel``; the bare words "Transient",
   "Galactic ULX"); ``Same as X`` / ``Short name of X`` give ``X``; a trailing lower-case
   clause (``"... in NGC 6440"``, ``"... possibly interacting ..."``,
   ``"... counterpart coordinates"``) is cut off.
5. An entry that is entirely two or more catalogue designations separated by spaces —
   each a catalogue token (``4U``, ``1RXS``, ``CXOU``, ``GS``...) followed by a coordinate
   token ``[J|B|G]digits[.digits](+|-)digits[.digits]`` — is split into them:
   ``"4U 0054+60 1RXS J005642.0+604300"`` -> two names. Names that are not a sequence of
   such pairs (``"V* V662 Cas"``, ``"LS I +65 10"``, ``"Tycho SNR"``) stay whole.
6. Aliases are unique by :func:`normalise_name` key and never repeat the canonical name.
"""
from __future__ import annotations

import functools
import json
import math
import os
import re
import urllib.parse
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
from astropy.io import fits

from .names import normalise_name
from .sphere import unit_vectors

__all__ = ["CatalogSource", "CatalogIndex", "HEASARC_CLASS_TO_OTYPE", "EXTNAME", "otype_for_class",
           "parse_comment_aliases", "read_gnrl_refr_cat", "simbad_url", "builtin_bright_sources",
           "load_reference_catalog", "clear_catalog_cache"]

EXTNAME = "GNRL-REFR-CAT"
REQUIRED_COLUMNS = ("NAME", "RA_OBJ", "DEC_OBJ")
SIMBAD_ID_URL = "https://simbad.cds.unistra.fr/simbad/sim-id?Ident="


@dataclass(frozen=True)
class CatalogSource:
    """One reference source; ``otype`` uses the SIMBAD object-type vocabulary.

    ``class_code`` is the HEASARC class (None when null), ``err_rad_deg`` the ISDC position
    error, ``isgri_flux`` / ``jemx_flux`` the catalog ISGR_FLUX_1 (counts/s, 20-60 keV) and
    JEMX_FLUX_1 (counts/s) with 0 / NaN placeholders as None; ``origin`` says where it came from.
    """

    name: str
    ra_deg: float
    dec_deg: float
    otype: str
    aliases: tuple[str, ...]
    class_code: int | None = None
    err_rad_deg: float | None = None
    isgri_flux: float | None = None
    jemx_flux: float | None = None
    source_id: str | None = None
    origin: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


# --------------------------------------------------------------------------- classes
# HEASARC 4-digit class scheme (heasarc.gsfc.nasa.gov/W3Browse/class.html): the first
# two digits give the family, the third a property (X-ray binaries: 10 pulsar, 20 burster,
# 30 black hole, ...; AGN: radio properties) and the last a detail (X-ray binaries:
# 3 eclipsing, 6 hard transient...; AGN: 4 type 1, 5 type 1.5, 6 type 2). The table lists
# family codes plus the specific codes whose SIMBAD type differs from their family;
# otype_for_class falls back from the exact code to its tens, hundreds and thousands.
HEASARC_CLASS_TO_OTYPE: dict[int, str] = {
    1000: "XrayBin",                                      # X-ray binary, type unknown
    1100: "HighMassXBin", 1200: "HighMassXBin",           # HMXB, supergiant HMXB
    1300: "HighMassXBin",                                 # Be HMXB
    1400: "LowMassXBin", 1500: "LowMassXBin",             # LMXB, LMXB in globular cluster
    1600: "CataclyV*", 1610: "Nova", 1620: "Nova",        # CV, classical / recurrent nova
    1630: "CataclyV*", 1640: "CataclyV*",                 # polar, intermediate polar
    1650: "DwarfNova", 1660: "DwarfNova", 1670: "DwarfNova", 1680: "DwarfNova",
    1690: "CataclyV*",                                    # nova-like
    1700: "gamma", 1710: "gammaBurst", 1720: "Magnetar",  # gamma source, GRB, SGR
    1800: "Pulsar", 1810: "Pulsar", 1820: "X",            # radio pulsar, X-ray pulsator, SSS
    1830: "Neutron*", 1840: "Magnetar",                   # isolated NS, AXP
    1850: "Planet", 1860: "BrownD*", 1870: "YSO", 1880: "YSO", 1890: "Star",
    1900: "RSCVnV*", 1910: "EclBin", 1920: "EclBin", 1930: "EclBin",
    1940: "Symbiotic*", 1950: "Star", 1960: "Star", 1970: "Star", 1980: "TTauri*",
    1990: "YSO", 1991: "Be*",
    2000: "WolfRayet*", **{c: "Star" for c in range(2100, 3000, 100)},
    3000: "X",                                            # extended, nature unknown
    3100: "SNRemnant", 3200: "SNRemnant",                 # Crab-like SNR, SNR
    3201: "Pulsar",   # SNR + radio pulsar: the catalogue names these by the pulsar
    3300: "SFregion", 3400: "Cloud", 3450: "MolCld", 3500: "GalNeb",
    3600: "OpenCluster", 3700: "HIIReg", 3800: "HerbigHaroObj", 3900: "X",
    4000: "WhiteDwarf",
    5000: "ClG", 5100: "CompactGroupG", 5500: "X",
    6000: "Galaxy", **{c: "Galaxy" for c in range(6100, 7000, 100)}, 6400: "StarburstG",
    7000: "AGN", 7100: "Seyfert", 7200: "QSO", 7300: "BLLac", 7400: "LINER",
    7500: "RadioG", 7600: "Galaxy", 7700: "Blazar", 7800: "EmissionG", 7900: "Seyfert1",
    **{t + d: ("Seyfert2" if d == 6 else "Seyfert1") for t in range(7100, 7200, 10) for d in (4, 5, 6)},
    8000: "Unknown", 9000: "Unknown", 9100: "SN", 9200: "SN",
    9999: "X",                                            # unidentified X-ray source
}


def otype_for_class(code: int | None) -> str:
    """SIMBAD object type for a HEASARC class code; unknown / null codes give ``"X"``."""
    try:
        code = int(code)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "X"
    if not 1000 <= code <= 9999:
        return "X"
    for key in (code, code // 10 * 10, code // 100 * 100, code // 1000 * 1000):
        if key in HEASARC_CLASS_TO_OTYPE:
            return HEASARC_CLASS_TO_OTYPE[key]
    return "X"


def simbad_url(name: str) -> str:
    """SIMBAD identifier query URL for ``name``."""
    return SIMBAD_ID_URL + urllib.parse.quote(str(name).strip(), safe="")


# --------------------------------------------------------------------------- aliases
_COORD = r"[JBG]?\d{2,}(?:\.\d+)?[+-]\d{2,}(?:\.\d+)?"
_DESIG = rf"[0-9]?[A-Za-z][A-Za-z0-9.\-]*\s+{_COORD}"
_MULTI_DESIG = re.compile(rf"{_DESIG}(?:\s+{_DESIG})+")
_ONE_DESIG = re.compile(_DESIG)
_PERIOD_SEP = re.compile(r"(?<=\d)\.\s+(?=\S)")
_QUESTION = re.compile(r"(?:\s*\(\?\)?|\s*\?)+$")
_NOTE = re.compile(
    r"https?://|\bet al\b|^\d{4}[A-Za-z&]+\.|^(?:in|too|also|see|possibly|ATel)\b"
    r"|^(?:transient|galactic ulx)$", re.IGNORECASE)
_PREFIX_NOTE = re.compile(r"^(?:same as|short name of)\s+", re.IGNORECASE)
_TRAILING_CLAUSE = re.compile(r"\s+(?:in|possibly|counterpart)\b.*$")


def _text(value) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip()


def _clean_entry(entry: str) -> list[str]:
    entry = _QUESTION.sub("", entry.strip()).strip()
    if not entry or entry == "-" or _NOTE.search(entry):
        return []
    if _PREFIX_NOTE.match(entry):
        entry = _PREFIX_NOTE.sub("", entry).replace("_", " ")
    entry = _QUESTION.sub("", _TRAILING_CLAUSE.sub("", entry)).strip()
    if not entry or entry == "-":
        return []
    if _MULTI_DESIG.fullmatch(entry):
        return [m.group(0) for m in _ONE_DESIG.finditer(entry)]
    return [entry]


def parse_comment_aliases(comments, name: str = "", width: int | None = None) -> tuple[str, ...]:
    """Aliases from a GNRL-REFR-CAT ``COMMENTS`` value (rules in the module docstring).

    ``width`` is the column width in characters: a value filling it (or all but its last
    character) is taken as truncated, so its last entry is dropped.
    """
    text = _text(comments)
    if not text:
        return ()
    truncated = width is not None and len(text) >= width - 1 and not text.endswith(",")
    entries = _PERIOD_SEP.sub(", ", text).split(",")
    if truncated and len(entries) > 1:
        entries = entries[:-1]
    return _unique_aliases(name, (a for e in entries for a in _clean_entry(e)))


def _unique_aliases(name: str, aliases: Iterable[str]) -> tuple[str, ...]:
    seen = {normalise_name(name)} if name else set()
    out = []
    for alias in aliases:
        alias = " ".join(alias.split())
        key = normalise_name(alias)
        if key and key not in seen:
            seen.add(key)
            out.append(alias)
    return tuple(out)


# --------------------------------------------------------------------------- reading
def _catalog_files(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir()
                       if p.is_file() and p.name.lower().endswith((".fits", ".fits.gz")))
        if not files:
            raise ValueError(f"{path}: no *.fits or *.fits.gz catalog files in this directory")
        return files
    if path.is_file():
        return [path]
    raise ValueError(f"{path}: reference catalog path does not exist")


def _positive(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None   # 0 = placeholder


class _CatalogFileError(ValueError):
    """A catalog file problem, already worded with the file name."""


_WANTED = ("SOURCE_ID", "NAME", "CLASS", "RA_OBJ", "DEC_OBJ", "ERR_RAD", "COMMENTS",
           "ISGR_FLUX_1", "JEMX_FLUX_1")


def _read_one(path: Path) -> list[CatalogSource]:
    try:
        with fits.open(path, memmap=False) as hdul:
            if EXTNAME not in [h.name for h in hdul]:
                raise _CatalogFileError(f"{path}: no {EXTNAME} extension (EXTNAME) in this FITS file")
            hdu = hdul[EXTNAME]
            if not isinstance(hdu, fits.BinTableHDU):
                raise _CatalogFileError(f"{path}: the {EXTNAME} extension is not a binary table")
            columns = {c.name.strip().upper(): c for c in hdu.columns}
            missing = [c for c in REQUIRED_COLUMNS if c not in columns]
            if missing:
                raise _CatalogFileError(
                    f"{path}: {EXTNAME} table lacks required column(s) {', '.join(missing)}")
            data = hdu.data
            n = 0 if data is None else len(data)
            col = {k: np.asarray(data[columns[k].name]) for k in _WANTED if k in columns and n}
            comment_width = _string_width(columns.get("COMMENTS"))
    except _CatalogFileError:
        raise
    except Exception as exc:  # astropy raises OSError, TypeError, ValueError... on bad files
        raise _CatalogFileError(f"{path}: not a readable FITS reference catalog ({exc})") from exc

    origin = f"{EXTNAME}:{path.name}"
    sources = []
    for i in range(n):
        name = _text(col["NAME"][i])
        ra, dec = float(col["RA_OBJ"][i]), float(col["DEC_OBJ"][i])
        if not name or not (math.isfinite(ra) and math.isfinite(dec)):
            continue
        code = None
        if "CLASS" in col:
            raw = col["CLASS"][i]
            code = int(raw) if np.isfinite(raw) and 1000 <= int(raw) <= 9999 else None
        sid = _text(col["SOURCE_ID"][i]) if "SOURCE_ID" in col else ""
        aliases = (parse_comment_aliases(col["COMMENTS"][i], name, comment_width)
                   if "COMMENTS" in col else ())
        sources.append(CatalogSource(
            name=name, ra_deg=ra % 360.0, dec_deg=dec, otype=otype_for_class(code),
            aliases=aliases, class_code=code,
            err_rad_deg=_positive(col["ERR_RAD"][i]) if "ERR_RAD" in col else None,
            isgri_flux=_positive(col["ISGR_FLUX_1"][i]) if "ISGR_FLUX_1" in col else None,
            jemx_flux=_positive(col["JEMX_FLUX_1"][i]) if "JEMX_FLUX_1" in col else None,
            source_id=sid or None, origin=origin))
    return sources


def _string_width(column) -> int | None:
    match = re.fullmatch(r"(\d*)A", str(column.format).strip().upper()) if column is not None else None
    return int(match.group(1) or 1) if match else None


def _merge(a: CatalogSource, b: CatalogSource) -> CatalogSource:
    origins = a.origin.split(",") + [o for o in b.origin.split(",") if o not in a.origin.split(",")]
    return CatalogSource(
        name=a.name, ra_deg=a.ra_deg, dec_deg=a.dec_deg,
        otype=a.otype if a.class_code is not None else b.otype,
        aliases=_unique_aliases(a.name, (*a.aliases, b.name, *b.aliases)),
        class_code=a.class_code if a.class_code is not None else b.class_code,
        err_rad_deg=a.err_rad_deg if a.err_rad_deg is not None else b.err_rad_deg,
        isgri_flux=a.isgri_flux if a.isgri_flux is not None else b.isgri_flux,
        jemx_flux=a.jemx_flux if a.jemx_flux is not None else b.jemx_flux,
        source_id=a.source_id or b.source_id, origin=",".join(origins))


def read_gnrl_refr_cat(path: str | os.PathLike) -> list[CatalogSource]:
    """Read an ISDC General Reference Catalog file, or every *.fits / *.fits.gz in a directory.

    Rows are merged across files by ``SOURCE_ID`` (by normalised name when it is blank);
    the first file in name order wins for the position and class, aliases are united.
    Raises ValueError naming the file when it is not a FITS table with the
    GNRL-REFR-CAT extension and the NAME, RA_OBJ, DEC_OBJ columns.
    """
    merged: dict[str, CatalogSource] = {}
    for file in _catalog_files(Path(path).expanduser()):
        for src in _read_one(file):
            key = f"id:{src.source_id}" if src.source_id else f"name:{normalise_name(src.name)}"
            merged[key] = _merge(merged[key], src) if key in merged else src
    return list(merged.values())


# --------------------------------------------------------------------------- index
_SIMBAD_PREFIX = re.compile(r"^\s*(?:V\*|NAME)\s+", re.IGNORECASE)


def _lookup_keys(name: str) -> list[str]:
    """Normalised keys of a name: as written, then without a SIMBAD ``V*``/``NAME`` prefix."""
    keys = [normalise_name(name)]
    bare = _SIMBAD_PREFIX.sub("", name)
    if bare != name:
        keys.append(normalise_name(bare))
    return [k for k in keys if k]


class CatalogIndex:
    """Name / alias lookup and cone search over a list of :class:`CatalogSource`."""

    def __init__(self, sources: Iterable[CatalogSource]):
        self._sources: tuple[CatalogSource, ...] = tuple(sources)
        self._by_key: dict[str, int] = {}
        for i, src in enumerate(self._sources):        # canonical names take precedence
            for key in _lookup_keys(src.name):
                self._by_key.setdefault(key, i)
        for i, src in enumerate(self._sources):
            for alias in src.aliases:
                for key in _lookup_keys(alias):
                    self._by_key.setdefault(key, i)
        self._xyz = (unit_vectors([s.ra_deg for s in self._sources], [s.dec_deg for s in self._sources])
                     if self._sources else np.zeros((0, 3)))

    def __len__(self) -> int:
        return len(self._sources)

    def __iter__(self) -> Iterator[CatalogSource]:
        return iter(self._sources)

    def lookup(self, name: str) -> CatalogSource | None:
        """The source whose name or any alias has the same normalised key, else None.

        SIMBAD's ``V* `` and ``NAME `` prefixes are optional on both sides.
        """
        for key in _lookup_keys(str(name)):
            i = self._by_key.get(key)
            if i is not None:
                return self._sources[i]
        return None

    def nearest(self, ra_deg: float, dec_deg: float, radius_deg: float) -> list[tuple[CatalogSource, float]]:
        """Sources within ``radius_deg`` of (ra, dec), sorted by separation in degrees."""
        if not (math.isfinite(ra_deg) and math.isfinite(dec_deg) and -90.0 <= dec_deg <= 90.0):
            raise ValueError(f"invalid position ra={ra_deg!r} dec={dec_deg!r}")
        if not radius_deg >= 0:
            raise ValueError(f"radius must be >= 0, got {radius_deg!r}")
        if not self._sources:
            return []
        target = unit_vectors(ra_deg, dec_deg)
        dot = self._xyz @ target
        cross = np.linalg.norm(np.cross(self._xyz, target), axis=1)
        sep = np.degrees(np.arctan2(cross, dot))        # accurate at all angles
        idx = np.flatnonzero(sep <= radius_deg)
        idx = idx[np.argsort(sep[idx], kind="stable")]
        return [(self._sources[i], float(sep[i])) for i in idx]


# --------------------------------------------------------------------------- loading
@functools.lru_cache(maxsize=1)
def _builtin_tuple() -> tuple[CatalogSource, ...]:
    text = resources.files("skygallery.science").joinpath("data/bright_sources.json").read_text("utf-8")
    return tuple(
        CatalogSource(name=row["name"], ra_deg=float(row["ra_deg"]), dec_deg=float(row["dec_deg"]),
                      otype=row["otype"], aliases=_unique_aliases(row["name"], row.get("aliases", ())),
                      origin="builtin")
        for row in json.loads(text)["sources"])


def builtin_bright_sources() -> list[CatalogSource]:
    """The hand-written list of bright hard-X-ray sources shipped with the package."""
    return list(_builtin_tuple())


@functools.lru_cache(maxsize=8)
def _load_cached(key: str | None) -> CatalogIndex:
    return CatalogIndex(builtin_bright_sources() if key is None else read_gnrl_refr_cat(key))


def load_reference_catalog(path: str | os.PathLike | None = None) -> CatalogIndex:
    """The ISDC catalog at ``path`` (file or directory), else the built-in list; cached."""
    if path is None or not str(path).strip():
        return _load_cached(None)
    return _load_cached(str(Path(path).expanduser().resolve()))


def clear_catalog_cache() -> None:
    """Forget cached catalogs (after the file at a configured path changed)."""
    _load_cached.cache_clear()
    _builtin_tuple.cache_clear()
