"""Qinling's list filters (``status=in:success,failed``) and pagination.

A filter value is ``[op:]value`` with op one of eq, neq, in, nin, gt, gte,
lt, lte, has (substring). Values are converted to the column's type; a
value that does not fit is the client's mistake and says so.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from qinling import exceptions

OPERATORS = ("eq", "neq", "in", "nin", "gt", "gte", "lt", "lte", "has")

# What every backend stores in a BIGINT; beyond it SQLite's driver raises
# OverflowError instead of comparing.
_INT_RANGE = range(-(2**63), 2**63)


@dataclasses.dataclass(frozen=True)
class Filter:
    field: str
    op: str
    value: str

    @classmethod
    def parse(cls, field: str, raw: str) -> Filter:
        op, sep, rest = raw.partition(":")
        if sep and op in OPERATORS:
            return cls(field, op, rest)
        return cls(field, "eq", raw)


@dataclasses.dataclass(frozen=True)
class Page:
    limit: int | None = None
    marker: str | None = None
    sort_key: str = "created_at"
    sort_dir: str = "asc"


def _convert(column: InstrumentedAttribute, field: str, raw: str) -> Any:
    python_type = column.type.python_type
    try:
        if python_type is bool:
            lowered = raw.lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(raw)
            return lowered in ("true", "1", "yes")
        if python_type is int:
            integer = int(raw)
            if integer not in _INT_RANGE:
                raise ValueError(raw)
            return integer
        if python_type is float:
            real = float(raw)
            # MySQL has no NaN or infinity: its driver refuses to send them.
            if not math.isfinite(real):
                raise ValueError(raw)
            return real
        if python_type is datetime.datetime:
            value = datetime.datetime.fromisoformat(raw)
            if value.tzinfo is not None:
                value = value.astimezone(datetime.UTC).replace(tzinfo=None)
            return value
    # OverflowError: a time zone pushes the time past year 1 or 9999.
    except (ValueError, OverflowError) as err:
        raise exceptions.InputError(
            f"Filter '{field}': '{raw}' is not a valid {python_type.__name__}."
        ) from err
    return raw


def clause(model: type, flt: Filter, allowed: frozenset[str]) -> sa.ColumnElement[bool]:
    if flt.field not in allowed:
        raise exceptions.InputError(
            f"Cannot filter on '{flt.field}'; filterable fields: {', '.join(sorted(allowed))}."
        )
    column = getattr(model, flt.field)
    if flt.op in ("in", "nin"):
        values = [_convert(column, flt.field, v) for v in flt.value.split(",")]
        return column.in_(values) if flt.op == "in" else column.not_in(values)
    if flt.op == "has":
        if column.type.python_type is not str:
            raise exceptions.InputError(f"Filter '{flt.field}': 'has' applies to text fields only.")
        return column.contains(flt.value, autoescape=True)
    value = _convert(column, flt.field, flt.value)
    return {
        "eq": lambda: column == value,
        "neq": lambda: column != value,
        "gt": lambda: column > value,
        "gte": lambda: column >= value,
        "lt": lambda: column < value,
        "lte": lambda: column <= value,
    }[flt.op]()


def paginate(
    stmt: sa.Select, model: type, page: Page, marker_row: Any | None, sortable: frozenset[str]
) -> sa.Select:
    """Order by ``sort_key`` then id, and start after ``marker_row``."""
    if page.sort_key not in sortable:
        raise exceptions.InputError(
            f"Cannot sort by '{page.sort_key}'; sort keys: {', '.join(sorted(sortable))}."
        )
    if page.sort_dir not in ("asc", "desc"):
        raise exceptions.InputError("sort_dir must be 'asc' or 'desc'.")
    key = getattr(model, page.sort_key)
    ident = model.id
    descending = page.sort_dir == "desc"
    if marker_row is not None:
        marker_key = getattr(marker_row, page.sort_key)
        after = (key < marker_key) if descending else (key > marker_key)
        same = sa.and_(
            key == marker_key, (ident < marker_row.id) if descending else (ident > marker_row.id)
        )
        stmt = stmt.where(sa.or_(after, same))
    order = (key.desc(), ident.desc()) if descending else (key.asc(), ident.asc())
    stmt = stmt.order_by(*order)
    if page.limit is not None:
        stmt = stmt.limit(page.limit)
    return stmt
