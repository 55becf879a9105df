"""Sources: creation, update, aliases, merge, search and linking of posted names."""
from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet

from skygallery.science.catalog import simbad_url
from skygallery.science.names import normalise_name
from skygallery.science.sphere import Cone, separation_deg

from ..errors import Conflict, InvalidInput, NotFound
from ..models import DetectedSource, Product, ProductSource, Source, SourceName
from .geometry import cone_filter
from .resolver import find_source, resolve


def get_source(name: str) -> Source:
    source = find_source(name)
    if source is None:
        raise NotFound(f"no source named {name!r}")
    return source


def validate_position(ra, dec, prefix: str = "") -> list[tuple[str, str]]:
    errors = []
    if ra is not None and not (0.0 <= float(ra) < 360.0):
        errors.append((f"{prefix}ra", f"RA {ra} outside [0, 360) deg"))
    if dec is not None and not (-90.0 <= float(dec) <= 90.0):
        errors.append((f"{prefix}dec", f"Dec {dec} outside [-90, 90] deg"))
    if (ra is None) != (dec is None):
        errors.append((f"{prefix}ra" if ra is None else f"{prefix}dec", "give both RA and Dec, or neither"))
    return errors


def _check_name(name: str, field: str) -> str:
    name = (name or "").strip()
    if not name or not normalise_name(name):
        raise InvalidInput((field, "a source name needs letters or digits"))
    if len(name) > 128:
        raise InvalidInput((field, "source names are at most 128 characters"))
    return name


def add_alias(source: Source, alias: str, field: str = "aliases") -> bool:
    """Give ``source`` another name; False when it already has it. A name of another source is an error."""
    alias = _check_name(alias, field)
    key = normalise_name(alias)
    existing = SourceName.objects.filter(key=key).select_related("source").first()
    if existing:
        if existing.source_id != source.pk:
            raise Conflict(f"{field}: {alias!r} is already a name of {existing.source.name!r}")
        return False
    SourceName.objects.create(source=source, name=alias, key=key, is_primary=False)
    return True


@transaction.atomic
def create_source(name: str, ra_deg: float | None, dec_deg: float | None, object_type: str = "",
                  aliases: list[str] | tuple[str, ...] = (), catalog_url: str = "") -> Source:
    name = _check_name(name, "name")
    errors = validate_position(ra_deg, dec_deg)
    if errors:
        raise InvalidInput(errors)
    if find_source(name):
        raise Conflict(f"name: a source named {name!r} exists already")
    source = Source(name=name, ra_deg=ra_deg, dec_deg=dec_deg, object_type=(object_type or "")[:32],
                    catalog_url=catalog_url or simbad_url(name))
    try:
        with transaction.atomic():
            source.save()
    except IntegrityError:
        raise Conflict(f"name: a source named {name!r} exists already") from None
    SourceName.objects.create(source=source, name=name, key=normalise_name(name), is_primary=True)
    for alias in aliases:
        if normalise_name(alias) != normalise_name(name):
            try:
                add_alias(source, alias)
            except Conflict:
                continue  # catalog aliases shared with another gallery source are skipped
    return source


@transaction.atomic
def update_source(source: Source, *, ra_deg=None, dec_deg=None, object_type=None, catalog_url=None,
                  aliases: list[str] | None = None, replace_aliases: bool = False, new_name: str | None = None) -> Source:
    errors = validate_position(ra_deg, dec_deg)
    if errors:
        raise InvalidInput(errors)
    if ra_deg is not None:
        source.set_position(ra_deg, dec_deg)
    if object_type is not None:
        source.object_type = object_type[:32]
    if catalog_url is not None:
        source.catalog_url = catalog_url
    if new_name and normalise_name(new_name) != normalise_name(source.name):
        _rename(source, _check_name(new_name, "name"))
    source.save()
    if aliases is not None:
        if replace_aliases:
            keep = {normalise_name(a) for a in aliases}
            source.names.filter(is_primary=False).exclude(key__in=keep).delete()
        for alias in aliases:
            add_alias(source, alias)
    return source


def _rename(source: Source, new_name: str) -> None:
    """Make ``new_name`` the canonical name; the old one stays as an alias."""
    key = normalise_name(new_name)
    other = SourceName.objects.filter(key=key).exclude(source=source).first()
    if other:
        raise Conflict(f"name: {new_name!r} is a name of {other.source.name!r}")
    source.names.filter(is_primary=True).update(is_primary=False)
    row = source.names.filter(key=key).first()
    if row:
        row.name, row.is_primary = new_name, True
        row.save()
    else:
        SourceName.objects.create(source=source, name=new_name, key=key, is_primary=True)
    source.name = new_name


@transaction.atomic
def merge_sources(keep: Source, gone: Source) -> Source:
    """Merge ``gone`` into ``keep``: its names become aliases, its products and detections move."""
    if keep.pk == gone.pk:
        raise InvalidInput(("into", "cannot merge a source into itself"))
    gone.names.update(source=keep, is_primary=False)
    linked = set(ProductSource.objects.filter(source=keep).values_list("product_id", flat=True))
    ProductSource.objects.filter(source=gone, product_id__in=linked).delete()
    ProductSource.objects.filter(source=gone).update(source=keep)   # keep.save() copies its object type
    DetectedSource.objects.filter(source=gone).update(source=keep)
    gone.delete()
    keep.save()
    return keep


def search_sources(q: str | None = None, object_type: str | None = None, cone: Cone | None = None,
                   sort: str = "name") -> QuerySet:
    qs = Source.objects.all()
    if q:
        key = normalise_name(q)
        if key:
            qs = qs.filter(Q(names__key__startswith=key) | Q(names__name__icontains=q.strip())).distinct()
    if object_type:
        qs = qs.filter(object_type__iexact=object_type)
    if cone is not None:
        qs = cone_filter(qs, cone)
    sorts = {"name": ("name",), "-name": ("-name",), "ra": ("ra_deg", "name"), "-ra": ("-ra_deg", "name"),
             "dec": ("dec_deg", "name"), "-dec": ("-dec_deg", "name"), "type": ("object_type", "name"),
             "-type": ("-object_type", "name")}
    if sort not in sorts:
        raise InvalidInput(("sort", f"unknown sort {sort!r}; one of {', '.join(sorts)}"))
    return qs.order_by(*sorts[sort])


def nearest_source(ra_deg: float, dec_deg: float, radius_deg: float) -> Source | None:
    candidates = list(cone_filter(Source.objects.all(), Cone(ra_deg, dec_deg, radius_deg)))
    if not candidates:
        return None
    return min(candidates, key=lambda s: float(separation_deg(ra_deg, dec_deg, s.ra_deg, s.dec_deg)))


def link_source(ref: dict, create: bool, field: str) -> Source:
    """Find (or, when ``create``, make) the source a posted product names.

    ``ref`` has ``name`` and optionally ``ra``, ``dec``, ``object_type``, ``aliases``. Order: the
    gallery's names and aliases; the gallery's sources within the match radius of the given
    position (the name becomes an alias); the offline catalogs, matched to a gallery source by
    position; and a new source only when the caller asked for it.
    """
    name = _check_name(ref.get("name", ""), f"{field}.name")
    source = find_source(name)
    if source:
        return source
    radius = settings.SKYGALLERY["SOURCE_MATCH_RADIUS_ARCMIN"] / 60.0
    ra, dec = ref.get("ra"), ref.get("dec")
    resolved = None
    if ra is None or dec is None:
        resolved = resolve(name)
        if resolved is not None:
            ra, dec = resolved.ra_deg, resolved.dec_deg
    existing = find_source(resolved.name) if resolved is not None else None
    if existing is not None:
        add_alias(existing, name, f"{field}.name")
        return existing
    if ra is not None and dec is not None:
        near = nearest_source(ra, dec, radius)
        if near is not None:
            add_alias(near, name, f"{field}.name")
            return near
    if not create:
        known = f" (known to the {resolved.origin} catalog)" if resolved else ""
        raise InvalidInput((f"{field}.name", f"source {name!r}{known} is not in the gallery; "
                                             "set create_sources to add it"))
    if ra is None or dec is None:
        raise InvalidInput((f"{field}.name", f"source {name!r} could not be resolved; give its ra and dec"))
    if resolved is not None:
        aliases = [name, *resolved.aliases, *(ref.get("aliases") or [])]
        return create_source(resolved.name, ra, dec, ref.get("object_type") or resolved.object_type,
                             aliases, resolved.catalog_url)
    return create_source(name, ra, dec, ref.get("object_type") or "", ref.get("aliases") or [])


def products_of(source: Source) -> QuerySet:
    return Product.objects.filter(sources=source, deleted_at__isnull=True)
