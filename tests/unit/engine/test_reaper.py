"""Orphaned executions end or run again; nothing stays running forever."""

from __future__ import annotations

import datetime
import json

import pytest

from qinling.db import models
from qinling.engine.reaper import ExecutionReaper
from tests.unit.db import rows

NOW = datetime.datetime(2030, 1, 1, 12, 0, 0)


@pytest.fixture
def dispatched() -> list[str]:
    return []


@pytest.fixture
def reaper(database, dispatched) -> ExecutionReaper:
    return ExecutionReaper(
        database, dispatched.append, host="engine-a", pickup_timeout=30, grace=60, clock=lambda: NOW
    )


@pytest.fixture
def function_id(database) -> str:
    with database.transaction() as session:
        function = rows.function(timeout=10)
        session.add(function)
        session.flush()
        return function.id


def add_execution(database, function_id: str, **values) -> str:
    with database.transaction() as session:
        row = rows.execution(function_id, **values)
        session.add(row)
        session.flush()
        return row.id


def status(database, execution_id: str) -> tuple[str, str | None]:
    with database.transaction() as session:
        row = session.get(models.Execution, execution_id)
        output = json.loads(row.result)["output"] if row.result else None
        return row.status, output


def ago(seconds: int) -> datetime.datetime:
    return NOW - datetime.timedelta(seconds=seconds)


def test_an_execution_never_started_is_dispatched_again(database, reaper, dispatched, function_id):
    lost = add_execution(database, function_id, created_at=ago(31))
    fresh = add_execution(database, function_id, created_at=ago(5))

    reaper.reap()

    assert dispatched == [lost]
    assert status(database, fresh) == ("running", None)


def test_a_started_execution_past_timeout_and_grace_ends_in_error(database, reaper, function_id):
    dead = add_execution(
        database, function_id, created_at=ago(200), started_at=ago(71), engine_host="engine-b"
    )
    alive = add_execution(
        database, function_id, created_at=ago(200), started_at=ago(69), engine_host="engine-b"
    )

    reaper.reap()

    state, message = status(database, dead)
    assert state == "error"
    assert "engine-b" in message and "stopped before it finished" in message
    assert status(database, alive) == ("running", None)


def test_a_restarted_engine_ends_only_its_own_leftovers(database, reaper, function_id):
    mine = add_execution(database, function_id, started_at=ago(1), engine_host="engine-a")
    theirs = add_execution(database, function_id, started_at=ago(1), engine_host="engine-b")
    queued = add_execution(database, function_id, created_at=ago(1))

    assert reaper.end_own_leftovers() == 1

    assert status(database, mine)[0] == "error"
    assert "restarted" in status(database, mine)[1]
    assert status(database, theirs) == ("running", None)
    assert status(database, queued) == ("running", None)


def test_final_executions_are_never_touched(database, reaper, dispatched, function_id):
    done = add_execution(
        database,
        function_id,
        status="success",
        created_at=ago(500),
        started_at=ago(400),
        result='{"output": "ok", "duration": 0}',
    )
    reaper.reap()
    reaper.end_own_leftovers()
    assert dispatched == []
    assert status(database, done) == ("success", "ok")


def test_finished_executions_past_retention_are_purged(database, reaper, function_id):
    old = add_execution(
        database, function_id, status="success", created_at=NOW - datetime.timedelta(days=31)
    )
    recent = add_execution(
        database, function_id, status="failed", created_at=NOW - datetime.timedelta(days=29)
    )
    running = add_execution(database, function_id, created_at=NOW - datetime.timedelta(days=40))

    assert reaper.purge_finished(30) == 1
    assert reaper.purge_finished(0) == 0

    with database.transaction() as session:
        left = {row.id for row in session.query(models.Execution)}
    assert left == {recent, running}
    assert old not in left
