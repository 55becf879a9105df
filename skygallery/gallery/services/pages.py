"""Data for the web pages, assembled from the models in a few queries (the views stay thin)."""
from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, F

from ..models import (
    Instrument,
    Observation,
    Product,
    ProductFile,
    ProductSource,
    ProductType,
    Revolution,
    Source,
)
from .listing import ListedProduct, listed_links, listed_page, listed_products
from .serialize import file_url, product_page_url
from .timing import isot

GROUP_LIMIT = 12     # cards per (observation, instrument, type) group on a revolution page
SECTION_LIMIT = 12   # cards per section of a source page (the per-revolution section shows twice as many)



def card_data(products: list[ListedProduct]) -> list[dict]:
    """What a product card shows: preview, title, sources, instrument, time and revolution span, proposals."""
    ids = [p.pk for p in products]
    previews = {}
    for f in (ProductFile.objects.filter(role="preview", version__product_id__in=ids,
                                         version__number=F("version__product__version"))
              .values("pk", "version__product_id")):
        previews.setdefault(f["version__product_id"], f["pk"])
    cards = []
    for p in products:
        preview = previews.get(p.pk)
        cards.append({
            "product": p, "url": product_page_url(p.product_id),
            "preview_url": file_url(p.product_id, preview) if preview else None,
            "sources": p.source_names,
            "t1": isot(p.t_start)[:19], "t2": isot(p.t_end)[:19],
            "obsids": p.observation.obsids if p.observation_id else [],
        })
    return cards


def newest_products(n: int, **filters) -> list[ListedProduct]:
    """The ``n`` most recently posted live products matching ``filters`` (feeds)."""
    qs = Product.objects.filter(deleted_at__isnull=True, **filters).order_by("-created_at", "-id")
    return listed_page(qs, slice(0, n))


def revolution_page(number: int, instrument_names: list[str] | None, family: str | None) -> dict:
    """A revolution with its observations and, per observation, its products grouped by instrument and type
    (at most GROUP_LIMIT cards a group, with a link to all of them)."""
    rev = Revolution.objects.prefetch_related("logs").filter(number=number).first()
    observations = list(Observation.objects.filter(rev1__lte=number, rev2__gte=number).order_by("t_start"))
    rows = Product.objects.filter(deleted_at__isnull=True, span_class=0, rev1=number)  # span 0: this revolution
    if instrument_names:
        rows = rows.filter(instrument__name__in=instrument_names)
    if family:
        rows = rows.filter(product_type__family=family)
    keys = list(rows.order_by("instrument_id", "product_type_id", "title", "id")
                .values_list("id", "observation_id", "instrument_id", "product_type_id"))
    groups: dict[tuple, list[int]] = defaultdict(list)
    for pk, obs, inst, ptype in keys:
        groups[(obs, inst, ptype)].append(pk)
    shown = [pk for ids in groups.values() for pk in ids[:GROUP_LIMIT]]
    cards = {c["product"].pk: c for c in card_data(listed_products(shown))}
    by_obs: dict[int | None, list] = defaultdict(list)
    for (obs, _, _), ids in groups.items():
        first = cards[ids[0]]["product"]
        by_obs[obs].append({"label": f"{first.instrument.label} · {first.product_type.label}", "total": len(ids),
                            "cards": [cards[pk] for pk in ids[:GROUP_LIMIT]],
                            "more_url": f"/?rev={number}&instrument={first.instrument.name}"
                                        f"&family={first.product_type.family}" if len(ids) > GROUP_LIMIT else None})
    sections = [{"observation": o, "groups": by_obs.get(o.pk, [])} for o in observations]
    if by_obs.get(None):
        sections.append({"observation": None, "groups": by_obs[None]})
    return {"revolution": rev, "number": number, "observations": sections, "n_products": len(keys),
            "last_log": rev.logs.first() if rev else None}


def source_page(source: Source) -> dict:
    """Highlights first, then long-term, then per-revolution products; counts per instrument and type.

    Everything is read from the source's ProductSource rows (index ``prodsrc_src_t`` in time order,
    ``prodsrc_kind`` for the counts), so a source with 50,000 products costs as little as one with 50.
    """
    links = ProductSource.objects.filter(source=source, live=True)
    highlights = listed_links(links.filter(highlight=True), slice(0, SECTION_LIMIT))
    long_term = listed_links(links.filter(span__gt=0, highlight=False), slice(0, SECTION_LIMIT))
    per_rev = listed_links(links.filter(span=0, highlight=False), slice(0, 2 * SECTION_LIMIT))
    counts = _counts_by_kind(links.values_list("instrument_id", "product_type_id").annotate(n=Count("id")))
    return {"source": source, "aliases": source.aliases, "highlights": card_data(highlights),
            "long_term": card_data(long_term), "per_revolution": card_data(per_rev), "counts": counts,
            "n_products": sum(c["n"] for c in counts), "n_detections": source.detections.count()}


def _counts_by_kind(rows) -> list[dict]:
    """Products per instrument and family from (instrument id, type id, n) rows, labelled from the vocabulary."""
    labels = dict(Instrument.objects.values_list("id", "label"))
    families = dict(ProductType.objects.values_list("id", "family"))
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for inst, ptype, n in rows:
        totals[(labels[inst], families[ptype])] += n
    return [{"instrument__label": i, "product_type__family": f, "n": n} for (i, f), n in sorted(totals.items())]


def parameters_cell(parameters: dict) -> str:
    """A notebook parameters cell (one Python assignment per parameter) for the "Copy parameters" button.

    Values come from JSON, whose ``repr`` is a valid Python literal (True, None, lists, dicts).
    """
    return "\n".join(f"{key} = {value!r}" for key, value in parameters.items() if str(key).isidentifier())
