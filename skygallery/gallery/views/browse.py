"""Gallery home: product cards with filters; the query string is a permalink."""
from __future__ import annotations

from django.shortcuts import render

from ..errors import InvalidInput
from ..services.pages import card_data
from ..services.search import search_products
from .forms import ProductFilterForm
from .paging import page_links

PAGE_SIZE = 24
SECTION_SIZE = 6


def home(request):
    form = ProductFilterForm(request.GET or None)
    context = {"form": form, "cards": [], "page": None, "highlights": [], "long_term": []}
    if form.is_bound and not form.is_valid():
        return render(request, "gallery/home.html", context, status=200)
    params = form.search_params() if form.is_bound else {}
    try:
        page = search_products({**params, "page": request.GET.get("page", 1), "page_size": PAGE_SIZE})
    except InvalidInput as exc:
        for field, message in exc.errors:
            form.add_error(field if field in form.fields else None, message)
        return render(request, "gallery/home.html", context)
    context.update(page=page, cards=card_data(page.results), links=page_links(request, page))
    if not params:
        context["highlights"] = card_data(search_products({"highlight": "true", "page_size": SECTION_SIZE}).results)
        context["long_term"] = card_data(search_products({"long_term": "true", "page_size": SECTION_SIZE}).results)
    return render(request, "gallery/home.html", context)
