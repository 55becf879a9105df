"""/api/v1/sources: search (name/alias, type, cone), read, create, update, merge; name resolution."""
from __future__ import annotations

from ninja import Status, Query, Router, Schema

from skygallery.science.sphere import Cone

from ..errors import InvalidInput, NotFound
from ..schemas import SourceIn, SourceUpdateIn
from ..services import sources as svc
from ..services.geometry import radius_to_deg
from ..services.resolver import resolve, resolve_offline_catalogs
from ..services.serialize import source_dict
from .auth import WRITE_AUTH, require_contributor

router = Router(tags=["sources"])


class SourceFilters(Schema):
    q: str | None = None
    object_type: str | None = None
    ra: float | None = None
    dec: float | None = None
    radius: float | None = None
    radius_unit: str = "deg"
    sort: str = "name"
    page: int = 1
    page_size: int = 50


def _cone(f: SourceFilters) -> Cone | None:
    given = [v is not None for v in (f.ra, f.dec, f.radius)]
    if not any(given):
        return None
    if not all(given):
        missing = [n for n, g in zip(("ra", "dec", "radius"), given) if not g][0]
        raise InvalidInput((missing, "a cone search needs ra, dec and radius"))
    try:
        return Cone(f.ra, f.dec, radius_to_deg(f.radius, f.radius_unit))
    except ValueError as exc:
        field = str(exc).split()[0]
        raise InvalidInput((field if field in ("ra", "dec", "radius") else "radius", str(exc))) from None


@router.get("", summary="Search sources by name or alias, type, or cone")
def search(request, filters: Query[SourceFilters]):
    if not 1 <= filters.page_size <= 500 or filters.page < 1:
        raise InvalidInput(("page_size", "page >= 1 and 1 <= page_size <= 500"))
    qs = svc.search_sources(filters.q, filters.object_type, _cone(filters), filters.sort)
    start = (filters.page - 1) * filters.page_size
    rows = list(qs.prefetch_related("names")[start:start + filters.page_size])
    return {"total": qs.count(), "page": filters.page, "page_size": filters.page_size,
            "results": [source_dict(s) for s in rows]}


@router.get("/resolve", summary="Resolve a name offline (gallery, reference catalog, built-in list; SIMBAD if enabled)")
def resolve_name(request, name: str):
    found = resolve(name)
    if found is None:
        raise NotFound(f"{name!r} could not be resolved")
    return found.as_dict()


@router.get("/{name}", summary="A source by name or alias")
def get(request, name: str):
    return source_dict(svc.get_source(name), with_counts=True)


@router.post("", auth=WRITE_AUTH, response={201: dict}, summary="Create a source")
def create(request, data: SourceIn):
    require_contributor(request)
    ra, dec, otype, aliases, url = data.ra, data.dec, data.object_type, list(data.aliases), data.catalog_url
    if data.resolve:
        found = resolve_offline_catalogs(data.name)
        if found is None:
            raise InvalidInput(("name", f"{data.name!r} is not in the offline catalogs"))
        ra = found.ra_deg if ra is None else ra
        dec = found.dec_deg if dec is None else dec
        otype, url = otype or found.object_type, url or found.catalog_url
        aliases += [a for a in found.aliases + [found.name] if a != data.name]
    return Status(201, source_dict(svc.create_source(data.name, ra, dec, otype, aliases, url)))


@router.patch("/{name}", auth=WRITE_AUTH, summary="Update a source (position, type, aliases, canonical name)")
def update(request, name: str, data: SourceUpdateIn):
    require_contributor(request)
    source = svc.update_source(svc.get_source(name), ra_deg=data.ra, dec_deg=data.dec, object_type=data.object_type,
                               catalog_url=data.catalog_url, aliases=data.aliases,
                               replace_aliases=data.replace_aliases, new_name=data.name)
    return source_dict(source)


class MergeIn(Schema):
    source: str


@router.post("/{name}/merge", auth=WRITE_AUTH, summary="Merge another source into this one")
def merge(request, name: str, data: MergeIn):
    """The other source's names become aliases of this one and its products move here."""
    require_contributor(request)
    keep = svc.get_source(name)
    return source_dict(svc.merge_sources(keep, svc.get_source(data.source)), with_counts=True)
