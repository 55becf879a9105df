"""An OR of index ranges as one SQL expression, for filters with dozens of terms.

The interval and kind filters (``intervals.py``) are ORs of up to a few dozen terms of 4–7
comparisons each. Written as ``Q`` objects, Django resolves every comparison on its own (a field
look-up, a lookup object, a value preparation each): a few hundred of them took 10–25 ms per
search, far longer than the database took to answer. ``AnyRange`` resolves each column once and
renders the terms itself, with the values prepared by the columns' fields as Django would.
"""
from __future__ import annotations

from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db.models import BooleanField, Expression, F

Comparison = tuple[str, str, Any]   # (column name, "=" | ">=" | "<=" | "in", value)
_OPERATORS = {"=", ">=", "<=", "in"}


class AnyRange(Expression):
    """Rows that meet every comparison of at least one term (``terms``: lists of ``Comparison``).

    A comparison ``(name, "=", True)`` on a boolean column is rendered as the bare column, as
    Django does, so that a partial index ``WHERE column`` still applies to the term (SQLite).
    """

    conditional = True
    output_field = BooleanField()

    def __init__(self, terms: list[list[Comparison]]):
        super().__init__()
        if any(op not in _OPERATORS for term in terms for _, op, _ in term):
            raise ValueError(f"comparisons must be one of {sorted(_OPERATORS)}")
        self.terms = [list(term) for term in terms]
        self.names = sorted({name for term in terms for name, _, _ in term})
        self.columns = [F(name) for name in self.names]

    def get_source_expressions(self):
        return self.columns

    def set_source_expressions(self, exprs):
        self.columns = list(exprs)

    def as_sql(self, compiler, connection):
        columns = {}
        for name, column in zip(self.names, self.columns):
            columns[name] = (compiler.compile(column)[0], column.output_field)
        parts, params = [], []
        for term in self.terms:
            rendered = _term(term, columns, connection)
            if rendered is not None:
                parts.append(rendered[0])
                params += rendered[1]
        if not parts:
            raise EmptyResultSet
        return "(" + " OR ".join(parts) + ")", params


def _term(term: list[Comparison], columns: dict, connection) -> tuple[str, list] | None:
    """One term as SQL and parameters; None when it cannot match (an empty ``in`` list)."""
    sql, params = [], []
    for name, op, value in term:
        column, field = columns[name]
        if op == "in":
            if not value:
                return None
            sql.append(f"{column} IN ({', '.join(['%s'] * len(value))})")
            params += [field.get_db_prep_value(v, connection) for v in value]
        elif op == "=" and isinstance(value, bool):
            sql.append(column if value else f"NOT {column}")
        else:
            sql.append(f"{column} {op} %s")
            params.append(field.get_db_prep_value(value, connection))
    return "(" + " AND ".join(sql) + ")", params
