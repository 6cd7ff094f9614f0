"""Qinling's filter syntax: every operator, every type, and bad values."""

from __future__ import annotations

import pytest

from qinling import exceptions
from qinling.context import RequestContext
from qinling.db import filters, models, queries
from qinling.db.session import Database
from tests.unit.db import rows

FILTERABLE = frozenset(
    {"status", "sync", "duration", "function_version", "memory_peak", "started_at", "description"}
)


@pytest.fixture
def executions(database: Database) -> None:
    """Four executions, named by their description."""
    fid = "8d9c6f3e-0000-4000-8000-000000000001"
    values = [
        dict(description="alpha", status="success", sync=True, duration=0.5,
             function_version=1, memory_peak=100, started_at=rows.at(1)),
        dict(description="beta 100%", status="failed", sync=False, duration=1.5,
             function_version=2, memory_peak=2**40, started_at=rows.at(2)),
        dict(description="gamma_x", status="error", sync=True, duration=2.5,
             function_version=3, started_at=rows.at(3)),
        dict(description="gammaAx", status="running", sync=False, function_version=3),
    ]  # fmt: skip
    with database.transaction() as session:
        rows.add(session, *(rows.execution(fid, **row) for row in values))


def _matching(database: Database, **where: str) -> list[str]:
    parsed = [filters.Filter.parse(field, raw) for field, raw in where.items()]
    with database.transaction() as session:
        found = queries.list_rows(
            session,
            models.Execution,
            queries.Scope(RequestContext(project_id=rows.PROJECT)),
            where=parsed,
            allowed=FILTERABLE,
        )
        return sorted(row.description for row in found)


CASES = [
    # strings
    ({"status": "success"}, ["alpha"]),
    ({"status": "eq:failed"}, ["beta 100%"]),
    ({"status": "neq:success"}, ["beta 100%", "gammaAx", "gamma_x"]),
    ({"status": "in:success,failed"}, ["alpha", "beta 100%"]),
    ({"status": "nin:success,failed"}, ["gammaAx", "gamma_x"]),
    ({"description": "has:gamma"}, ["gammaAx", "gamma_x"]),
    # LIKE wildcards in the value are taken literally.
    ({"description": "has:a_"}, ["gamma_x"]),
    ({"description": "has:100%"}, ["beta 100%"]),
    ({"description": "has:%"}, ["beta 100%"]),
    ({"description": "gt:beta"}, ["beta 100%", "gammaAx", "gamma_x"]),
    # integers
    ({"function_version": "3"}, ["gammaAx", "gamma_x"]),
    ({"function_version": "gt:1"}, ["beta 100%", "gammaAx", "gamma_x"]),
    ({"function_version": "gte:2"}, ["beta 100%", "gammaAx", "gamma_x"]),
    ({"function_version": "lt:3"}, ["alpha", "beta 100%"]),
    ({"function_version": "lte:1"}, ["alpha"]),
    ({"function_version": "in:1,3"}, ["alpha", "gammaAx", "gamma_x"]),
    ({"function_version": "nin:1,3"}, ["beta 100%"]),
    ({"memory_peak": "gt:4294967296"}, ["beta 100%"]),
    ({"memory_peak": "-5"}, []),
    # floats
    ({"duration": "gt:1"}, ["beta 100%", "gamma_x"]),
    ({"duration": "lte:1.5"}, ["alpha", "beta 100%"]),
    ({"duration": "lt:1e0"}, ["alpha"]),
    # booleans, in every spelling
    ({"sync": "true"}, ["alpha", "gamma_x"]),
    ({"sync": "True"}, ["alpha", "gamma_x"]),
    ({"sync": "1"}, ["alpha", "gamma_x"]),
    ({"sync": "yes"}, ["alpha", "gamma_x"]),
    ({"sync": "false"}, ["beta 100%", "gammaAx"]),
    ({"sync": "eq:0"}, ["beta 100%", "gammaAx"]),
    ({"sync": "neq:no"}, ["alpha", "gamma_x"]),
    # date-times: naive is UTC; an offset is converted to UTC
    ({"started_at": "2024-05-01T12:02:00"}, ["beta 100%"]),
    ({"started_at": "gt:2024-05-01T12:01:00"}, ["beta 100%", "gamma_x"]),
    ({"started_at": "gte:2024-05-01"}, ["alpha", "beta 100%", "gamma_x"]),
    ({"started_at": "lte:2024-05-01T14:02:00+02:00"}, ["alpha", "beta 100%"]),
    ({"started_at": "lt:2024-05-01 12:02:00Z"}, ["alpha"]),
    # filters combine with AND
    ({"sync": "true", "function_version": "gt:1"}, ["gamma_x"]),
    ({"status": "in:success,error", "description": "has:alp"}, ["alpha"]),
]


@pytest.mark.parametrize(("where", "expected"), CASES, ids=[str(c[0]) for c in CASES])
def test_filter(database: Database, executions: None, where: dict, expected: list) -> None:
    assert _matching(database, **where) == expected


BAD_VALUES = [
    {"function_version": "three"},
    {"function_version": "gt:1.5"},
    {"function_version": "in:1,x"},
    {"memory_peak": "gt:99999999999999999999"},
    {"duration": "lt:fast"},
    {"duration": "gt:nan"},
    {"duration": "lt:inf"},
    {"sync": "maybe"},
    {"sync": "in:true,maybe"},
    {"started_at": "gt:yesterday"},
    {"started_at": "2024-13-01"},
    {"function_version": "has:3"},
]


@pytest.mark.parametrize("where", BAD_VALUES, ids=str)
def test_a_value_of_the_wrong_type_is_bad_input(
    database: Database, executions: None, where: dict
) -> None:
    with pytest.raises(exceptions.InputError, match="Filter '"):
        _matching(database, **where)


def test_an_unknown_field_is_bad_input(database: Database) -> None:
    with pytest.raises(exceptions.InputError, match="filterable fields: description"):
        _matching(database, project_id="project-b")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("success", ("eq", "success")),
        ("in:a,b", ("in", "a,b")),
        ("has:", ("has", "")),
        ("has:a:b", ("has", "a:b")),
        ("like:x", ("eq", "like:x")),
        ("2024-05-01T12:00:00", ("eq", "2024-05-01T12:00:00")),
    ],
)
def test_parse(raw: str, expected: tuple[str, str]) -> None:
    flt = filters.Filter.parse("field", raw)
    assert (flt.field, flt.op, flt.value) == ("field", *expected)
