"""Text fields of a posted product: the detected-sources HTML table and ``parameters = {…}``."""
from __future__ import annotations

import ast
import json
import math
import re
from html.parser import HTMLParser

from skygallery.gallery.errors import InvalidInput

_NEW_NAME = re.compile(r"^new[_ ]?\d+$", re.I)
_PARAMETERS = re.compile(r"^\s*parameters\s*=\s*(.*)$", re.S)


class _Table(HTMLParser):
    """Rows of the first table in a page, each a list of cell texts (header cells included)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.header_rows: set[int] = set()
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            if not self.rows:
                self.rows.append([])
            if tag == "th":
                self.header_rows.add(len(self.rows) - 1)
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _column(header: str) -> str | None:
    h = header.strip().lower()
    rules = (("sig" in h, "significance"), ("err" in h or "unc" in h, "flux_err"), ("flux" in h, "flux"),
             (h.startswith(("name", "source")), "name"), (h.startswith("ra"), "ra"), (h.startswith("dec"), "dec"),
             ("new" in h, "new_source"))
    return next((key for matches, key in rules if matches), None)


def _number(text: str, field: str, required: bool) -> float | None:
    if not text or text.lower() in ("nan", "-", "none", "null"):
        if required:
            raise InvalidInput((field, "a number is required"))
        return None
    try:
        value = float(text)
    except ValueError:
        raise InvalidInput((field, f"{text!r} is not a number")) from None
    if not math.isfinite(value):
        raise InvalidInput((field, f"{text!r} is not a finite number"))
    return value


def _row(cells: dict[str, str], field: str) -> dict:
    name = cells.get("name", "").strip()
    if not name:
        raise InvalidInput((f"{field}.name", "a detected source needs a name"))
    new = cells.get("new_source", "").strip().lower()
    return {"name": name, "ra": _number(cells.get("ra", ""), f"{field}.ra", True),
            "dec": _number(cells.get("dec", ""), f"{field}.dec", True),
            "flux": _number(cells.get("flux", ""), f"{field}.flux", False),
            "flux_err": _number(cells.get("flux_err", ""), f"{field}.flux_err", False),
            "significance": _number(cells.get("significance", ""), f"{field}.significance", False),
            "new_source": new in ("1", "true", "yes", "y", "t") or bool(_NEW_NAME.match(name))}


def parse_detected_sources(html: str, field: str = "detected_sources") -> list[dict]:
    """Rows of the client's HTML table (Name, RA, Dec, Flux, Error, Significance; a NEW column optional).

    Columns are recognised by their header text; ``NEW_n`` names (the OSA convention) mark new sources.
    """
    table = _Table()
    table.feed(html)
    table.close()
    rows = [r for r in table.rows if r]
    if not rows:
        return []
    header_index = min(table.header_rows) if table.header_rows else 0
    columns = [_column(h) for h in rows[header_index]]
    missing = [c for c in ("name", "ra", "dec") if c not in columns]
    if missing:
        raise InvalidInput((field, f"the table needs Name, RA and Dec columns (missing: {', '.join(missing)})"))
    out = []
    for i, cells in enumerate(rows[header_index + 1:]):
        named = {col: cells[j] for j, col in enumerate(columns) if col and j < len(cells)}
        out.append(_row(named, f"{field}[{i}]"))
    return out


def parse_parameters(text: str, field: str = "additional_information") -> dict:
    """The analysis parameters of ``parameters = {…}`` (JSON or a Python dict literal)."""
    match = _PARAMETERS.match(text)
    body = (match.group(1) if match else text).strip()
    value = None
    for load in (json.loads, ast.literal_eval):
        try:
            value = load(body)
            break
        except (ValueError, SyntaxError, TypeError, RecursionError, MemoryError):
            continue
    if not isinstance(value, dict):
        raise InvalidInput((field, "expected 'parameters = {...}' with a JSON object or a Python dict"))
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidInput((field, f"parameters must be plain JSON values ({exc})")) from None
