"""Offline-first source-name resolution.

Order: the gallery's own sources (names and aliases) → the configured reference catalog
(ISDC GNRL-REFR-CAT, ``SKYGALLERY_CATALOG``) → the built-in list of bright sources → SIMBAD
online, only when ``SKYGALLERY_SIMBAD`` is on (with a timeout; answers cached in the database).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings

from skygallery.science.catalog import CatalogSource, load_reference_catalog, simbad_url
from skygallery.science.names import normalise_name

from ..models import ResolverCache, Source, SourceName

log = logging.getLogger(__name__)


@dataclass
class Resolved:
    name: str
    ra_deg: float | None
    dec_deg: float | None
    object_type: str = ""
    aliases: list[str] = field(default_factory=list)
    catalog_url: str = ""
    origin: str = ""  # gallery | catalog | builtin | simbad
    source: Source | None = None

    def as_dict(self) -> dict:
        return {"name": self.name, "ra": self.ra_deg, "dec": self.dec_deg, "object_type": self.object_type,
                "aliases": self.aliases, "catalog_url": self.catalog_url, "origin": self.origin,
                "in_gallery": self.source is not None}


def find_source(name: str) -> Source | None:
    """The gallery source with this name or alias (normalised), if any."""
    row = SourceName.objects.select_related("source").filter(key=normalise_name(name)).first()
    return row.source if row else None


def _from_catalog(entry: CatalogSource, origin: str) -> Resolved:
    return Resolved(entry.name, entry.ra_deg, entry.dec_deg, entry.otype, list(entry.aliases),
                    simbad_url(entry.name), origin)


def resolve_offline_catalogs(name: str) -> Resolved | None:
    """Look ``name`` up in the configured reference catalog, then in the built-in list."""
    path = settings.SKYGALLERY.get("CATALOG")
    if path:
        try:
            hit = load_reference_catalog(path).lookup(name)
        except (OSError, ValueError) as exc:
            log.warning("reference catalog %s unusable: %s", path, exc)
            hit = None
        if hit:
            return _from_catalog(hit, "catalog")
    hit = load_reference_catalog(None).lookup(name)
    return _from_catalog(hit, "builtin") if hit else None


def resolve_simbad(name: str) -> Resolved | None:
    """Ask SIMBAD (only when enabled), caching positive and negative answers."""
    if not settings.SKYGALLERY.get("SIMBAD_ONLINE"):
        return None
    key = normalise_name(name)
    cached = ResolverCache.objects.filter(key=key).first()
    if cached is None:
        payload = _query_simbad(name)
        if payload is None:  # network failure: do not cache
            return None
        cached = ResolverCache.objects.create(key=key, found=bool(payload), payload=payload)
    if not cached.found:
        return None
    p = cached.payload
    return Resolved(p["name"], p["ra"], p["dec"], p.get("otype", ""), p.get("aliases", []), simbad_url(p["name"]),
                    "simbad")


def _query_simbad(name: str) -> dict | None:
    """{} when SIMBAD does not know the name, None when SIMBAD could not be reached."""
    try:
        from astroquery.simbad import Simbad
    except ImportError:  # pragma: no cover - astroquery comes with the dev extras
        return None
    simbad = Simbad()
    simbad.TIMEOUT = settings.SKYGALLERY.get("SIMBAD_TIMEOUT_S", 5)
    simbad.add_votable_fields("otype", "ids")
    try:
        table = simbad.query_object(name)
    except Exception as exc:  # network errors of any kind
        log.warning("SIMBAD look-up of %r failed: %s", name, exc)
        return None
    if table is None or len(table) == 0:
        return {}
    row = table[0]
    cols = {c.lower(): c for c in table.colnames}
    ids = str(row[cols["ids"]]) if "ids" in cols else ""
    main_id = str(row[cols.get("main_id", "MAIN_ID")]).strip()
    return {"name": main_id, "ra": float(row[cols["ra"]]), "dec": float(row[cols["dec"]]),
            "otype": str(row[cols["otype"]]).strip() if "otype" in cols else "",
            "aliases": [i.strip() for i in ids.split("|") if i.strip() and i.strip() != main_id]}


def resolve(name: str) -> Resolved | None:
    """Resolve a name through the whole chain; None when nobody knows it."""
    source = find_source(name)
    if source is not None:
        return Resolved(source.name, source.ra_deg, source.dec_deg, source.object_type, source.aliases,
                        source.catalog_url, "gallery", source)
    return resolve_offline_catalogs(name) or resolve_simbad(name)
