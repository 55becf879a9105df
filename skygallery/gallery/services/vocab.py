"""Look-ups of the controlled vocabularies (instruments, product types)."""
from __future__ import annotations

from ..errors import InvalidInput
from ..models import Instrument, ProductType

# The MMODA gallery uses "jemx" for "either JEM-X unit".
INSTRUMENT_GROUPS = {"jemx": ("jemx1", "jemx2")}


def instrument(name: str, field: str = "instrument") -> Instrument:
    found = Instrument.objects.filter(name=(name or "").strip().lower()).first()
    if found is None:
        known = ", ".join(Instrument.objects.values_list("name", flat=True))
        raise InvalidInput((field, f"unknown instrument {name!r}; one of {known}"))
    return found


def instrument_names(name: str, field: str = "instrument") -> list[str]:
    """Instrument names a search term stands for (``jemx`` = jemx1 or jemx2)."""
    key = (name or "").strip().lower()
    if key in INSTRUMENT_GROUPS:
        return list(INSTRUMENT_GROUPS[key])
    return [instrument(key, field).name]


def product_type(name: str, field: str = "product_type") -> ProductType:
    found = ProductType.objects.select_related("instrument").filter(name=(name or "").strip().lower()).first()
    if found is None:
        known = ", ".join(ProductType.objects.values_list("name", flat=True))
        raise InvalidInput((field, f"unknown product type {name!r}; one of {known}"))
    return found
