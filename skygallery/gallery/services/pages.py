"""Data for the web pages, assembled from the models in a few queries (the views stay thin)."""
from __future__ import annotations

from collections import OrderedDict, defaultdict

from django.db.models import Count, F

from ..models import Observation, Product, ProductFile, Revolution, Source
from .serialize import file_url, product_page_url
from .timing import isot

PAGE_PRODUCTS = ("instrument", "product_type", "observation")


def card_data(products: list[Product]) -> list[dict]:
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
            "sources": [s.name for s in p.sources.all()],
            "t1": isot(p.t_start)[:19], "t2": isot(p.t_end)[:19],
            "obsids": p.observation.obsids if p.observation_id else [],
        })
    return cards


def product_queryset():
    return (Product.objects.filter(deleted_at__isnull=True).select_related(*PAGE_PRODUCTS)
            .prefetch_related("sources"))


def revolution_page(number: int, instrument_names: list[str] | None, family: str | None) -> dict:
    """A revolution with its observations and, per observation, products grouped by instrument and type."""
    rev = Revolution.objects.prefetch_related("logs").filter(number=number).first()
    observations = list(Observation.objects.filter(rev1__lte=number, rev2__gte=number).order_by("t_start"))
    products = product_queryset().filter(span_class=0, rev1=number)  # per-revolution products (span 0)
    if instrument_names:
        products = products.filter(instrument__name__in=instrument_names)
    if family:
        products = products.filter(product_type__family=family)
    products = list(products.order_by("instrument__name", "product_type__name", "title"))
    cards = {c["product"].pk: c for c in card_data(products)}
    by_obs: dict[int | None, OrderedDict] = defaultdict(OrderedDict)
    for p in products:
        by_obs[p.observation_id].setdefault((p.instrument.label, p.product_type.label), []).append(cards[p.pk])
    groups = [{"observation": o, "groups": list(by_obs.get(o.pk, {}).items())} for o in observations]
    if by_obs.get(None):
        groups.append({"observation": None, "groups": list(by_obs[None].items())})
    last_log = rev.logs.first() if rev else None
    return {"revolution": rev, "number": number, "observations": groups, "n_products": len(products),
            "last_log": last_log}


def source_page(source: Source) -> dict:
    """Highlights first, then long-term, then per-revolution products; counts per instrument and type."""
    qs = product_queryset().filter(sources=source)
    highlights = list(qs.filter(highlight=True).order_by("-t_start")[:24])
    long_term = list(qs.filter(span__gt=0, highlight=False).order_by("-t_start")[:48])
    per_rev = list(qs.filter(span=0, highlight=False).order_by("-t_start")[:96])
    counts = (qs.values("instrument__label", "product_type__family").annotate(n=Count("id"))
              .order_by("instrument__label", "product_type__family"))
    return {"source": source, "aliases": source.aliases, "highlights": card_data(highlights),
            "long_term": card_data(long_term), "per_revolution": card_data(per_rev), "counts": list(counts),
            "n_products": qs.count(), "n_detections": source.detections.count()}


def parameters_cell(parameters: dict) -> str:
    """A notebook parameters cell (one Python assignment per parameter) for the "Copy parameters" button.

    Values come from JSON, whose ``repr`` is a valid Python literal (True, None, lists, dicts).
    """
    return "\n".join(f"{key} = {value!r}" for key, value in parameters.items() if str(key).isidentifier())
