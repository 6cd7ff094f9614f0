"""Marker pagination: every row exactly once, in order, even with ties."""

from __future__ import annotations

import pytest

from qinling import exceptions
from qinling.context import RequestContext
from qinling.db import filters, models, queries
from qinling.db.session import Database
from tests.unit.db import rows

SCOPE = queries.Scope(RequestContext(project_id=rows.PROJECT))
SORTABLE = frozenset({"created_at", "id", "name"})


@pytest.fixture
def functions(database: Database) -> list[models.Function]:
    """Nine functions; created_at takes three values, three rows each."""
    with database.transaction() as session:
        made = [rows.function(name=f"fn-{i}", created_at=rows.at(i % 3)) for i in range(9)]
        # Another project's rows must not show up on any page.
        others = [
            rows.function(project_id=rows.OTHER_PROJECT, created_at=rows.at(1)) for _ in range(3)
        ]
        rows.add(session, *made, *others)
        return made


def _page(database: Database, **page: object) -> list[str]:
    with database.transaction() as session:
        found = queries.list_rows(
            session, models.Function, SCOPE, page=filters.Page(**page), sortable=SORTABLE
        )
        return [row.id for row in found]


def _walk(database: Database, limit: int, **page: object) -> list[str]:
    seen: list[str] = []
    marker = None
    while True:
        ids = _page(database, limit=limit, marker=marker, **page)
        seen += ids
        if len(ids) < limit:
            return seen
        marker = ids[-1]


def _expected(functions: list[models.Function], key: str, descending: bool) -> list[str]:
    ordered = sorted(functions, key=lambda row: (getattr(row, key), row.id), reverse=descending)
    return [row.id for row in ordered]


@pytest.mark.parametrize("sort_dir", ["asc", "desc"])
@pytest.mark.parametrize("limit", [1, 2, 4, 9, 50])
def test_pages_cover_every_row_once_in_order(
    database: Database, functions: list[models.Function], sort_dir: str, limit: int
) -> None:
    walked = _walk(database, limit, sort_dir=sort_dir)
    assert walked == _expected(functions, "created_at", sort_dir == "desc")


@pytest.mark.parametrize("sort_key", ["id", "name"])
def test_other_sort_keys(
    database: Database, functions: list[models.Function], sort_key: str
) -> None:
    assert _walk(database, 2, sort_key=sort_key) == _expected(functions, sort_key, False)
    walked = _walk(database, 2, sort_key=sort_key, sort_dir="desc")
    assert walked == _expected(functions, sort_key, True)


def test_no_limit_returns_everything(database: Database, functions: list[models.Function]) -> None:
    assert _page(database) == _expected(functions, "created_at", False)


def test_the_page_after_the_last_row_is_empty(
    database: Database, functions: list[models.Function]
) -> None:
    last = _expected(functions, "created_at", False)[-1]
    assert _page(database, limit=5, marker=last) == []


@pytest.mark.parametrize(
    ("page", "message"),
    [
        ({"marker": "00000000-0000-4000-8000-000000000000"}, "Marker .* does not exist"),
        ({"sort_key": "memory_size"}, "Cannot sort by 'memory_size'"),
        ({"sort_dir": "up"}, "sort_dir must be"),
    ],
)
def test_bad_pages_are_bad_input(database: Database, page: dict, message: str) -> None:
    with pytest.raises(exceptions.InputError, match=message):
        _page(database, **page)
