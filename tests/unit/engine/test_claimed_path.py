"""A sync execution in process: accepted, claimed and loaded in one
transaction, then run by this engine (``ClaimingInvoker``)."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from qinling import exceptions
from qinling.api.invoker import EngineInvoker
from qinling.context import admin_context
from qinling.db import executions as db_executions
from qinling.db import models
from qinling.engine.client import InProcessEngineClient
from qinling.engine.invoker import ClaimingInvoker
from qinling.engine.service import STOPPING_MESSAGE, Gate
from tests.unit.db import rows
from tests.unit.engine.support import execution, make_function

CTX = admin_context()
RETURNS_INPUT = "def main(a=None, **kw):\n    return a\n"


def _order(function_id: str, *, sync: bool = True, **values) -> db_executions.Order:
    fields = dict(function_id=function_id, version=None, alias=None, input={"a": 1}, sync=sync)
    return db_executions.Order(**(fields | {"description": None} | values))


def _invoker(database, engine, gate, submitted: list) -> ClaimingInvoker:
    client = InProcessEngineClient(gate, submit=lambda task, *a, **kw: submitted.append(a))
    return ClaimingInvoker(
        database, engine.loader, gate.run_claimed, fallback=EngineInvoker(database, client)
    )


def test_a_sync_execution_is_inserted_claimed_and_runs_here(database, manager):
    engine, orchestrator, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    invoker = _invoker(database, engine, Gate(engine), [])

    row = invoker.invoke(CTX, _order(function_id))

    assert orchestrator.runs == [row.id]
    assert (row.status, json.loads(row.result)["output"]) == ("success", 1)
    stored = execution(database, row.id)
    assert (stored.status, stored.engine_host) == ("success", engine._conf.engine.host)
    assert stored.started_at and stored.finished_at
    engine.loader.counts.flush()  # counts are written in batches, once a second
    with database.transaction() as session:
        assert session.get(models.Function, function_id).count == 1


def test_an_async_execution_stays_unclaimed_until_an_engine_thread_takes_it(database, manager):
    engine, orchestrator, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    submitted: list = []
    invoker = _invoker(database, engine, Gate(engine), submitted)

    row = invoker.invoke(CTX, _order(function_id, sync=False))

    assert row.status == "running" and orchestrator.runs == []
    assert len(submitted) == 1  # handed to the engine's thread pool
    left = execution(database, row.id)
    assert left.started_at is None and left.engine_host is None


def test_an_unknown_function_is_refused_and_nothing_is_inserted(database, manager):
    engine, _, _ = manager
    invoker = _invoker(database, engine, Gate(engine), [])

    with pytest.raises(exceptions.NotFound):
        invoker.invoke(CTX, _order("no-such-function"))

    with database.transaction() as session:
        assert session.scalar(sa.select(sa.func.count(models.Execution.id))) == 0


def test_a_function_whose_runtime_is_not_available_ends_in_error(database, manager):
    engine, orchestrator, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    with database.transaction() as session:
        function = session.get(models.Function, function_id)
        session.get(models.Runtime, function.runtime_id).status = "error"
    invoker = _invoker(database, engine, Gate(engine), [])

    row = invoker.invoke(CTX, _order(function_id))

    assert orchestrator.runs == []
    assert row.status == "error"
    assert "not available" in json.loads(row.result)["output"]


def test_a_stopping_engine_ends_a_claimed_execution_with_a_message(database, manager):
    engine, orchestrator, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    gate = Gate(engine)
    gate.close()
    invoker = _invoker(database, engine, gate, [])

    row = invoker.invoke(CTX, _order(function_id))

    assert orchestrator.runs == []
    assert (row.status, json.loads(row.result)["output"]) == ("error", STOPPING_MESSAGE)
    assert execution(database, row.id).status == "error"


def test_a_version_order_runs_that_version(database, manager):
    engine, orchestrator, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    with database.transaction() as session:
        function = session.get(models.Function, function_id)
        session.add(
            rows.version(
                function_id,
                1,
                runtime_id=function.runtime_id,
                package_digest=function.package_digest,
                entry=function.entry,
            )
        )
    invoker = _invoker(database, engine, Gate(engine), [])

    row = invoker.invoke(CTX, _order(function_id, version=1))

    assert (row.status, row.function_version) == ("success", 1)
