"""Reading the form and query fields the ``oda_api`` client sends.

The client turns Python keyword arguments into fields: names in any case (``RA``, ``e1_kev``, ``T1``),
booleans as ``True``/``False`` or ``0``/``1``, lists joined with commas, repeated, or as JSON text.
Errors name the field as the client sent it.
"""
from __future__ import annotations

import json
from typing import Any, Callable, Iterable

from skygallery.gallery.errors import InvalidInput

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", "none", ""}


class Fields:
    """Case-insensitive access to a QueryDict; when a name comes twice in different cases the later one wins
    (the client adds ``RA``/``DEC`` after the caller's own ``ra``/``dec`` when it applies a resolution)."""

    def __init__(self, querydict, ignore: Iterable[str] = ("token",)):
        self.values: dict[str, list[str]] = {}
        self.sent: dict[str, str] = {}
        for key, values in querydict.lists():
            low = key.strip().lower()
            if low not in ignore:
                self.values[low], self.sent[low] = values, key

    def name(self, key: str) -> str:
        """The field's name as the client sent it (``RA`` rather than ``ra``)."""
        return self.sent.get(key, key)

    def check_known(self, known: Iterable[str]) -> None:
        unknown = [self.sent[k] for k in self.values if k not in set(known)]
        if unknown:
            raise InvalidInput([(name, f"unknown field {name!r}") for name in unknown])

    def has(self, key: str) -> bool:
        return self.text(key) is not None

    def text(self, key: str) -> str | None:
        values = self.values.get(key)
        if not values:
            return None
        return values[-1].strip() or None

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.text(key)
        if value is None:
            return default
        if value.lower() in TRUE:
            return True
        if value.lower() in FALSE:
            return False
        raise InvalidInput((self.name(key), f"{value!r} is not true or false"))

    def number(self, key: str) -> float | None:
        value = self.text(key)
        if value is None:
            return None
        try:
            number = float(value)
        except ValueError:
            raise InvalidInput((self.name(key), f"{value!r} is not a number")) from None
        if number != number or number in (float("inf"), float("-inf")):
            raise InvalidInput((self.name(key), f"{value!r} is not a finite number"))
        return number

    def json(self, key: str, kind: type = list) -> Any:
        """A field holding JSON text of type ``kind`` (None when absent)."""
        value = self.text(key)
        if value is None:
            return None
        try:
            data = json.loads(value)
        except json.JSONDecodeError as exc:
            raise InvalidInput((self.name(key), f"not valid JSON: {exc.msg}")) from None
        if not isinstance(data, kind):
            raise InvalidInput((self.name(key), f"expected a JSON {kind.__name__}"))
        return data

    def items(self, key: str) -> list[str]:
        """A list sent as repeated fields, or as one field holding a JSON list."""
        values = [v.strip() for v in self.values.get(key, []) if v.strip()]
        if len(values) == 1 and values[0].startswith("["):
            return [str(v).strip() for v in self.json(key) if str(v).strip()]
        return values


def split_names(values: list[str], is_name: Callable[[str], bool]) -> list[str]:
    """Source names from the client: a JSON list, or comma-joined names (the client joins lists with commas).

    A value that is itself a known name is kept whole, so a name containing a comma is never cut.
    """
    if len(values) == 1 and values[0].startswith("["):
        try:
            data = json.loads(values[0])
        except json.JSONDecodeError:
            data = None
        if isinstance(data, list):
            return [str(v).strip() for v in data if str(v).strip()]
    names: list[str] = []
    for value in values:
        value = value.strip()
        if "," not in value or is_name(value):
            names.append(value)
        else:
            names.extend(part.strip() for part in value.split(",") if part.strip())
    return [n for n in names if n]


def renamed(exc: InvalidInput, rename: Callable[[str], str], words: dict[str, str] | None = None) -> InvalidInput:
    """The same errors with their fields (and the field names ``words`` in their messages) renamed to the
    client's names."""
    def reword(msg: str) -> str:
        for ours, theirs in (words or {}).items():
            msg = msg.replace(ours, theirs)
        return msg
    return InvalidInput([(rename(field) if field else field, reword(msg)) for field, msg in exc.errors])
