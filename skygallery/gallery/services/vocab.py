"""Look-ups of the controlled vocabularies (instruments, product types).

The vocabularies are a few dozen rows, seeded by a migration and rarely edited, so every process
keeps a snapshot of them (re-read after SNAPSHOT_TTL_S, or at once when this process saves or
deletes an instrument or a product type): searches and pages resolve names and label their
results without a query per look-up.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from django.db.models.signals import post_delete, post_save

from ..errors import InvalidInput
from ..models import Instrument, ProductType

SNAPSHOT_TTL_S = 60.0


@dataclass(frozen=True)
class Vocabulary:
    instruments: dict[int, Instrument]
    types: dict[int, ProductType]
    taken_at: float

    def instrument_named(self, name: str) -> Instrument | None:
        return next((i for i in self.instruments.values() if i.name == name), None)

    def type_named(self, name: str) -> ProductType | None:
        return next((t for t in self.types.values() if t.name == name), None)


_snapshot: Vocabulary | None = None


def snapshot() -> Vocabulary:
    """This process's copy of the vocabularies (product types carry their instrument)."""
    global _snapshot
    if _snapshot is None or time.monotonic() - _snapshot.taken_at > SNAPSHOT_TTL_S:
        instruments = {i.pk: i for i in Instrument.objects.all()}
        types = {t.pk: t for t in ProductType.objects.all()}
        for t in types.values():
            if t.instrument_id is not None:
                ProductType.instrument.field.set_cached_value(t, instruments[t.instrument_id])
        _snapshot = Vocabulary(instruments, types, time.monotonic())
    return _snapshot


def forget_snapshot(**_kwargs) -> None:
    global _snapshot
    _snapshot = None


for _model in (Instrument, ProductType):
    post_save.connect(forget_snapshot, sender=_model, dispatch_uid=f"vocab-{_model.__name__}-save")
    post_delete.connect(forget_snapshot, sender=_model, dispatch_uid=f"vocab-{_model.__name__}-delete")

# The MMODA gallery uses "jemx" for "either JEM-X unit".
INSTRUMENT_GROUPS = {"jemx": ("jemx1", "jemx2")}


def _unknown(field: str, what: str, name: str, known) -> InvalidInput:
    return InvalidInput((field, f"unknown {what} {name!r}; one of {', '.join(sorted(known))}"))


def instrument(name: str, field: str = "instrument") -> Instrument:
    v = snapshot()
    found = v.instrument_named((name or "").strip().lower())
    if found is None:
        raise _unknown(field, "instrument", name, (i.name for i in v.instruments.values()))
    return found


def instrument_names(name: str, field: str = "instrument") -> list[str]:
    """Instrument names a search term stands for (``jemx`` = jemx1 or jemx2)."""
    key = (name or "").strip().lower()
    if key in INSTRUMENT_GROUPS:
        return list(INSTRUMENT_GROUPS[key])
    return [instrument(key, field).name]


def product_type(name: str, field: str = "product_type") -> ProductType:
    v = snapshot()
    found = v.type_named((name or "").strip().lower())
    if found is None:
        raise _unknown(field, "product type", name, (t.name for t in v.types.values()))
    return found
