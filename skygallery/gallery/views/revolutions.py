"""Products per revolution: observations and their products grouped by instrument and type."""
from __future__ import annotations

from django.http import Http404
from django.shortcuts import redirect, render

from ..models import Revolution
from ..services.pages import revolution_page

INSTRUMENT_LINKS = [("isgri", "ISGRI", ["isgri"]), ("jemx", "JEM-X", ["jemx1", "jemx2"]),
                    ("jemx1", "JEM-X1", ["jemx1"]), ("jemx2", "JEM-X2", ["jemx2"]), ("", "All instruments", None)]
FAMILY_LINKS = [("image", "Image"), ("spectrum", "Spectrum"), ("lightcurve", "Light curve"), ("", "All products")]


def revolution_index(request):
    number = request.GET.get("rev", "").strip()
    if number:
        if number.isdigit() and 1 <= int(number) <= 9999:
            return redirect("revolution", number=int(number))
        latest = Revolution.objects.order_by("-number").first()
        return render(request, "gallery/revolution.html", {
            "error": f"{number!r} is not a revolution number (1–9999)", "number": latest.number if latest else None,
            "instrument_links": [], "family_links": []}, status=200)
    latest = Revolution.objects.filter(data_status__in=("NRT", "CONS")).order_by("-number").first()
    latest = latest or Revolution.objects.order_by("-number").first()
    if latest is None:
        return render(request, "gallery/revolution.html", {"empty": True, "instrument_links": [], "family_links": []})
    return redirect("revolution", number=latest.number)


def revolution(request, number: int):
    if not 1 <= number <= 9999:
        raise Http404("no such revolution")
    inst = request.GET.get("instrument", "")
    family = request.GET.get("family", "")
    names = next((n for key, _, n in INSTRUMENT_LINKS if key == inst), None)
    data = revolution_page(number, names, family if family in dict(FAMILY_LINKS) and family else None)
    data.update(instrument=inst, family=family, instrument_links=INSTRUMENT_LINKS, family_links=FAMILY_LINKS,
                prev=number - 1 if number > 1 else None, next=number + 1)
    return render(request, "gallery/revolution.html", data)
