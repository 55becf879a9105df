"""Product page: metadata, versions, viewer (JS9 for images, bokeh for light curves and spectra),
attachments and provenance."""
from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from ..errors import InvalidInput, NotFound
from ..services.accounts import is_contributor
from ..services import products as svc
from ..services.pages import parameters_cell
from ..services.serialize import source_page_url
from ..services.timing import mjd_of
from ..services.viewer import (detections_region, plot_item, region_radius_arcsec, significance_fits,
                               viewer_kind)


def _product_version(product_id: str, version: str | None):
    try:
        product = svc.get_product(product_id)
        number = int(version) if version and version.isdigit() else None
        return product, svc.get_version(product, number)
    except NotFound as exc:
        raise Http404(exc.message) from None


def product_detail(request, product_id: str):
    product, version = _product_version(product_id, request.GET.get("version"))
    meta = version.metadata
    versions = list(product.versions.order_by("-number").values("number", "created_at", "metadata__data_version"))
    detected = sorted(meta.get("detected_sources", []), key=lambda d: -(d.get("significance") or 0))
    for d in detected:
        d["url"] = source_page_url(d["source"]) if d.get("source") else None
    query = f"?version={version.number}" if version.number != product.version else ""
    return render(request, "gallery/product.html", {
        "product": product, "meta": meta, "version": version, "is_latest": version.number == product.version,
        "versions": versions, "detected": detected, "viewer": viewer_kind(meta), "version_query": query,
        "sources": [(name, source_page_url(name)) for name in meta.get("sources", [])],
        "parameters_cell": parameters_cell(meta.get("provenance", {}).get("parameters", {})),
        "regions": detections_region(detected, region_radius_arcsec(meta["instrument"])) if detected else "",
        "attachments": [f for f in meta.get("files", []) if f["role"] != "preview"],
        "previews": [f for f in meta.get("files", []) if f["role"] == "preview"],
        "scale_max": max([10.0] + [d.get("significance") or 0 for d in detected]),
        "can_edit": is_contributor(request.user),
        "mjd1": mjd_of(meta["t1"]), "mjd2": mjd_of(meta["t2"]),
    })


class ProductEditForm(forms.Form):
    title = forms.CharField(max_length=300)
    highlight = forms.BooleanField(required=False, help_text="Shown first on the source pages and the home page")
    data_version = forms.ChoiceField(choices=[("NRT", "NRT"), ("CONS", "CONS")])


def _contributor(request):
    if not is_contributor(request.user):
        raise PermissionDenied("this needs the contributor role")


def product_edit(request, product_id: str):
    """Contributors change a product's title, highlight flag or data version: a new version, same files."""
    _contributor(request)
    product, version = _product_version(product_id, None)
    form = ProductEditForm(request.POST or None, initial={k: version.metadata[k] for k in ProductEditForm.base_fields})
    if request.method == "POST" and form.is_valid():
        try:
            svc.edit_product(product_id, form.cleaned_data, actor=request.user)
        except InvalidInput as exc:
            for field, message in exc.errors:
                form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, "Saved as a new version.")
            return redirect("product", product_id=product_id)
    return render(request, "gallery/product_edit.html", {"form": form, "product": product, "meta": version.metadata})


@require_POST
def product_delete(request, product_id: str):
    _contributor(request)
    try:
        svc.delete_product(product_id, actor=request.user)
    except NotFound as exc:
        raise Http404(exc.message) from None
    messages.success(request, f"Product {product_id} deleted.")
    return redirect("home")


def _immutable(response, version):
    response["Cache-Control"] = "public, max-age=86400"
    response["ETag"] = f'"{version.product.product_id}-v{version.number}"'
    return response


def product_significance(request, product_id: str):
    """The significance map of an image product as a plain FITS file (loaded by JS9)."""
    _, version = _product_version(product_id, request.GET.get("version"))
    data = significance_fits(version)
    if data is None:
        raise Http404("this product has no sky image")
    response = HttpResponse(data, content_type="application/fits")
    response["Content-Disposition"] = f'inline; filename="{product_id}-v{version.number}-significance.fits"'
    return _immutable(response, version)


def product_plot(request, product_id: str):
    """The bokeh ``json_item`` of a light curve or spectrum product."""
    _, version = _product_version(product_id, request.GET.get("version"))
    item = plot_item(version)
    if item is None:
        raise Http404("this product has nothing to plot")
    return _immutable(JsonResponse(item), version)
