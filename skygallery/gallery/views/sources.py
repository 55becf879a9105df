"""Source list (name or alias search, type filter, sorting) and source pages."""
from __future__ import annotations

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render

from ..errors import NotFound
from ..models import Source
from ..services.pages import source_page
from ..services.sources import get_source, search_sources
from ..services.serialize import source_page_url
from .forms import SourceFilterForm


def source_list(request):
    form = SourceFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_valid() else {}
    qs = search_sources(data.get("q"), data.get("object_type"), None, data.get("sort") or "name")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    otypes = (Source.objects.exclude(object_type="").order_by("object_type")
              .values_list("object_type", flat=True).distinct())
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "gallery/sources.html", {"form": form, "page": page, "otypes": otypes,
                                                    "query": query.urlencode(), "sort": data.get("sort") or "name"})


def source_detail(request, name: str):
    try:
        source = get_source(name)
    except NotFound:
        raise Http404(f"no source named {name!r}") from None
    if source.name != name:  # an alias or another spelling: the canonical URL
        return redirect(source_page_url(source.name))
    return render(request, "gallery/source.html", source_page(source))
