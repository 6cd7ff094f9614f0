"""Every model round-trips through the database with its defaults."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from qinling import exceptions
from qinling.db import models
from qinling.db.session import Database
from tests.unit.db import rows

# model -> (builds a row for a function id, a column to update, its new value)
CASES: dict[str, tuple[Callable[[str], models.Base], str, object]] = {
    "runtime": (lambda _fid: rows.runtime(name="py"), "status", "error"),
    "function": (lambda _fid: rows.function(name="f2"), "memory_size", 2**33),
    "version": (lambda fid: rows.version(fid, 1), "description", "first"),
    "alias": (lambda fid: rows.alias(fid, "prod"), "function_version", 3),
    "execution": (lambda fid: rows.execution(fid), "status", "success"),
    "job": (lambda fid: rows.job(fid), "count", 7),
    "webhook": (lambda fid: rows.webhook(fid), "secret", "s3cret"),
}


@pytest.fixture
def function_id(database: Database) -> str:
    with database.transaction() as session:
        row = rows.function()
        rows.add(session, row)
        return row.id


@pytest.mark.parametrize("kind", sorted(CASES))
def test_create_read_update_delete(database: Database, function_id: str, kind: str) -> None:
    build, column, new_value = CASES[kind]
    with database.transaction() as session:
        row = build(function_id)
        rows.add(session, row)
        model, ident = type(row), row.id
    assert uuid.UUID(ident)

    with database.transaction() as session:
        stored = session.get(model, ident)
        assert stored.created_at is not None and stored.updated_at is None
        setattr(stored, column, new_value)

    with database.transaction() as session:
        stored = session.get(model, ident)
        assert getattr(stored, column) == new_value
        assert stored.updated_at is not None and stored.updated_at >= stored.created_at
        session.delete(stored)

    with database.transaction() as session:
        assert session.get(model, ident) is None


def test_defaults_are_filled_in(database: Database) -> None:
    with database.transaction() as session:
        runtime, function = rows.runtime(), rows.function()
        rows.add(session, runtime, function)
        execution = rows.execution(function.id)
        rows.add(session, execution)

    with database.transaction() as session:
        runtime = session.get(models.Runtime, runtime.id)
        function = session.get(models.Function, function.id)
        execution = session.get(models.Execution, execution.id)
    assert (runtime.is_public, runtime.trusted) == (True, True)
    assert (function.count, function.latest_version) == (0, 0)
    assert (execution.function_version, execution.sync) == (0, True)
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    assert abs(now - execution.created_at) < datetime.timedelta(minutes=1)


def test_every_column_round_trips(database: Database) -> None:
    values = {
        "function_alias": "prod",
        "description": "a description",
        "input": '{"name": "\u00e9t\u00e9 \U0001f600"}',
        "result": '{"output": 42}',
        "logs": "line 1\nline 2\n",
        "status": "success",
        "sync": False,
        "cold_start": True,
        "init_duration": 0.125,
        "duration": 1.5,
        "memory_peak": 2**40,
        "engine_host": "engine-1",
        "started_at": rows.at(1),
        "finished_at": rows.at(2),
    }
    with database.transaction() as session:
        row = rows.execution(str(uuid.uuid4()), **values)
        rows.add(session, row)

    with database.transaction() as session:
        stored = session.get(models.Execution, row.id)
        assert {name: getattr(stored, name) for name in values} == values


def test_environment_is_stored_as_json(database: Database) -> None:
    environment = {"GREETING": "hello", "NESTED": {"list": [1, 2.5, None, True]}}
    with database.transaction() as session:
        function = rows.function(environment=environment)
        rows.add(session, function)
        rows.add(session, rows.version(function.id, 1, environment=environment))

    with database.transaction() as session:
        assert session.get(models.Function, function.id).environment == environment
        stored = session.scalars(sa.select(models.FunctionVersion)).one()
        assert stored.environment == environment


def test_deleting_a_function_deletes_its_versions(database: Database, function_id: str) -> None:
    with database.transaction() as session:
        rows.add(session, rows.version(function_id, 1), rows.version(function_id, 2))

    with database.transaction() as session:
        session.execute(sa.delete(models.Function).where(models.Function.id == function_id))

    with database.transaction() as session:
        assert session.scalars(sa.select(models.FunctionVersion)).all() == []


def test_a_runtime_in_use_cannot_be_deleted(database: Database) -> None:
    with database.transaction() as session:
        runtime = rows.runtime()
        rows.add(session, runtime)
        rows.add(session, rows.function(runtime_id=runtime.id))

    with pytest.raises(exceptions.Conflict), database.transaction() as session:
        session.execute(sa.delete(models.Runtime).where(models.Runtime.id == runtime.id))

    with database.transaction() as session:
        assert session.get(models.Runtime, runtime.id) is not None


def test_a_function_needs_an_existing_runtime(database: Database) -> None:
    with pytest.raises(exceptions.Conflict), database.transaction() as session:
        rows.add(session, rows.function(runtime_id=str(uuid.uuid4())))
