"""The dispatcher's read endpoints: product lists, vocabularies, sources, revolutions, names and times.

Product lists follow the MMODA rule (band and revolutions inside the query's) but answer any revolution
range in one request; the client's chunked calls (250 revolutions, span 0, then span ≥ 1) therefore still
return every product exactly once.
"""
from __future__ import annotations

from datetime import datetime, timezone

from django.db.models import F, QuerySet

from skygallery.gallery.errors import InvalidInput
from skygallery.gallery.models import (Instrument, Product, ProductFile, ProductSource, ProductType, Revolution,
                                       Source, SourceName)
from skygallery.gallery.services.resolver import find_source, resolve
from skygallery.gallery.services.search import build_queryset
from skygallery.gallery.services.timing import isot, parse_time_field, revolution_bounds, revolution_range
from skygallery.gallery.services.vocab import INSTRUMENT_GROUPS
from skygallery.science.catalog import simbad_url
from skygallery.science.names import normalise_name

from .drupal import entity_info, product_row
from .forms import Fields, renamed, split_names

LIST_PARAMS = {"instrument_name": "instrument", "product_type": "product_type", "e1_kev_value": "e1",
               "e2_kev_value": "e2", "rev1_value": "rev1", "rev2_value": "rev2", "min_span_rev_value": "min_span",
               "max_span_rev_value": "max_span", "span_rev_value": "span", "product_id_value": "product_id",
               "product_id": "product_id"}
SEARCH_NAMES = {"instrument": "instrument_name", "e1": "e1_kev_value", "e2": "e2_kev_value", "rev1": "rev1_value",
                "rev2": "rev2_value", "min_span": "min_span_rev_value", "max_span": "max_span_rev_value",
                "span": "span_rev_value"}
BATCH = 1000


def _names(fields: Fields, key: str) -> list[str]:
    return split_names(fields.values.get(key, []), lambda n: find_source(n) is not None)


def _with_sources(qs: QuerySet, names: list[str]) -> QuerySet:
    """Products linked to any of the sources with these names or aliases."""
    ids = SourceName.objects.filter(key__in=[normalise_name(n) for n in names]).values("source_id")
    return qs.filter(pk__in=ProductSource.objects.filter(source_id__in=ids).values("product_id"))


def product_rows(qs: QuerySet, base: str) -> list[dict]:
    """Rows of every product of ``qs`` in its order, read in batches."""
    ids = list(qs.values_list("pk", flat=True))
    rows = []
    for start in range(0, len(ids), BATCH):
        batch = ids[start:start + BATCH]
        products = {p.pk: p for p in Product.objects.filter(pk__in=batch)
                    .select_related("instrument", "product_type", "observation").prefetch_related("sources")}
        previews: dict[int, int] = {}
        for f in (ProductFile.objects.filter(role="preview", version__product_id__in=batch,
                                             version__number=F("version__product__version"))
                  .order_by("pk").values("pk", "version__product_id")):
            previews.setdefault(f["version__product_id"], f["pk"])
        rows += [product_row(products[pk], base, previews.get(pk)) for pk in batch]
    return rows


def products_with_conditions(fields: Fields, base: str) -> list[dict]:
    fields.check_known(set(LIST_PARAMS) | {"src_name"})
    params = {LIST_PARAMS[k]: fields.text(k) for k in LIST_PARAMS if fields.has(k)}
    try:
        qs, _ = build_queryset({**params, "rev_mode": "inside", "sort": "time"})
    except InvalidInput as exc:
        raise renamed(exc, lambda f: SEARCH_NAMES.get(f, f)) from None
    names = _names(fields, "src_name")
    return product_rows(_with_sources(qs, names) if names else qs, base)


def products_by_source_name(fields: Fields, base: str) -> list[dict]:
    fields.check_known({"src_name"})
    names = _names(fields, "src_name")
    if not names:
        raise InvalidInput(("src_name", "a source name is required"))
    qs = _with_sources(Product.objects.filter(deleted_at__isnull=True), names).order_by("t_start", "id")
    return product_rows(qs, base)


def list_terms(group: str | None, parent: str | None) -> list[str]:
    """Names of the instruments, of the product types (of a family or an instrument), or of the sources."""
    group, parent = (group or "").strip().lower(), (parent or "").strip().lower()
    if group == "instruments":
        return list(Instrument.objects.order_by("name").values_list("name", flat=True))
    if group == "sources":
        return list(Source.objects.order_by("name").values_list("name", flat=True))
    if group != "products":
        raise InvalidInput(("group", "one of instruments, products, sources"))
    types = list(ProductType.objects.select_related("instrument").order_by("name"))
    if parent in ("", "all"):
        return [t.name for t in types]
    instrument = Instrument.objects.filter(name=parent).first()
    return [t.name for t in types if parent in t.parents or (instrument is not None and t.accepts(instrument))]


def parents_term(term: str | None, group: str | None) -> list[str]:
    """Parent terms: a product type's family and instrument term; a JEM-X unit's ``jemx``; [] if unknown."""
    term, group = (term or "").strip().lower(), (group or "all").strip().lower()
    if not term:
        raise InvalidInput(("term", "a term is required"))
    if group not in ("all", "products", "instruments"):
        raise InvalidInput(("group", "one of products, instruments, all"))
    ptype = ProductType.objects.select_related("instrument").filter(name=term).first()
    if ptype is not None and group in ("all", "products"):
        return ptype.parents
    if group in ("all", "instruments"):
        return [g for g, members in INSTRUMENT_GROUPS.items() if term in members]
    return []


def astro_entities() -> list[dict]:
    return [{"title": s.name, "ra": s.ra_deg, "dec": s.dec_deg} for s in Source.objects.order_by("name")]


def astro_entity_info(name: str | None, base: str) -> dict:
    """The source with this name or alias, or {} as in MMODA."""
    if not name:
        raise InvalidInput(("src_name", "a source name is required"))
    source = find_source(name)
    return entity_info(source, base) if source is not None else {}


def all_revolutions() -> list[str]:
    return [str(rev) for rev in Revolution.objects.order_by("number")]


def resolve_name(name: str | None) -> dict:
    """Offline resolution (gallery, reference catalog, built-in list; SIMBAD when enabled), as MMODA answers it."""
    if not name or not name.strip():
        raise InvalidInput(("name", "a source name is required"))
    shown = name.replace("_", " ").strip()
    found = resolve(shown)
    if found is None:
        return {"name": shown, "message": f"{shown} could not be resolved"}
    ids = list(dict.fromkeys([found.name, *found.aliases]))
    out = {"name": shown, "resolved_name": found.name, "object_type": found.object_type, "object_ids": ids,
           "have_coordinates": found.ra_deg is not None,
           "entity_portal_link": found.catalog_url or simbad_url(found.name), "origin": found.origin,
           "message": f"{shown} successfully resolved"}
    if found.ra_deg is not None:
        out["RA"], out["DEC"] = found.ra_deg, found.dec_deg
    return out


def revnum(text: str | None) -> dict:
    """The revolution of a UTC time (fractional seconds, MJD and IJD accepted); now when empty."""
    t = datetime.now(timezone.utc) if not text else parse_time_field(text, "time_to_convert")
    try:
        rev = revolution_range(t, t)[0]
    except InvalidInput as exc:
        raise renamed(exc, lambda f: "time_to_convert") from None
    start, end = revolution_bounds(rev)
    return {"revnum": rev, "time": isot(t), "rev_start": isot(start), "rev_end": isot(end)}
