"""/api/v1 instruments and product types."""
from __future__ import annotations

from ninja import Router

from ..models import Instrument, ProductType

router = Router(tags=["vocabulary"])


@router.get("/instruments", summary="Instruments and their energy limits (keV)")
def instruments(request):
    return [{"name": i.name, "label": i.label, "emin_kev": i.emin_kev, "emax_kev": i.emax_kev,
             "default_e1_kev": i.default_e1_kev, "default_e2_kev": i.default_e2_kev} for i in Instrument.objects.all()]


@router.get("/product-types", summary="Product types, their family and parent terms")
def product_types(request, family: str | None = None):
    qs = ProductType.objects.select_related("instrument")
    if family:
        qs = qs.filter(family=family)
    return [{"name": t.name, "label": t.label, "family": t.family,
             "instrument": t.instrument.name if t.instrument_id else None, "parents": t.parents} for t in qs]
