"""qinling-api's sync path without a data socket: read in the API, run and
written once by an engine over RPC (``RemoteRunInvoker``,
``EngineManager.run_recorded``)."""

from __future__ import annotations

import json
import threading

import pytest
import sqlalchemy as sa

from qinling import exceptions
from qinling.api.invoker import EngineInvoker
from qinling.context import admin_context
from qinling.db import executions as db_executions
from qinling.db import models
from qinling.engine import records
from qinling.engine.client import InProcessEngineClient
from qinling.engine.invoker import RemoteRunInvoker
from qinling.engine.loader import ExecutionLoader
from qinling.engine.service import STOPPING_MESSAGE, Gate
from tests import processes
from tests.unit.engine.support import execution, make_function
from tests.unit.engine.test_claimed_path import (
    RETURNS_INPUT,
    _execution_writes,
    _order,
    invoked_and_written_once,
)

CTX = admin_context()


class OverRpc:
    """The engine as ``EngineRPCClient.run_recorded`` reaches it: JSON in, JSON out."""

    def __init__(self, gate: Gate) -> None:
        self._gate = gate
        self.before_run = threading.Event()
        self.hold = threading.Event()
        self.hold.set()

    def run_recorded(self, ctx, execution, spec, request, *, timeout):
        execution, spec, request = json.loads(json.dumps([execution, spec, request]))
        self.before_run.set()
        assert self.hold.wait(30)
        return json.loads(json.dumps(self._gate.run_recorded(ctx, execution, spec, request)))


def _invoker(database, engine, rpc) -> RemoteRunInvoker:
    api_loader = ExecutionLoader(engine._conf, database, engine.loader._storage)
    fallback = EngineInvoker(
        database, InProcessEngineClient(Gate(engine), submit=lambda *a, **kw: None)
    )
    return RemoteRunInvoker(api_loader, rpc, fallback)


def test_the_engine_runs_and_writes_it_once(database, manager):
    engine, _, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    invoker = _invoker(database, engine, OverRpc(Gate(engine)))
    invoked_and_written_once(database, manager, invoker, function_id)


def test_one_running_long_is_written_by_the_engine_then_ended(database, manager):
    engine, _, _ = manager
    engine.pending._after = 0.05
    sleeps = "import time\n\n\ndef main(**kw):\n    time.sleep(0.4)\n    return 'late'\n"
    function_id = make_function(database, manager, sleeps)
    rpc = OverRpc(Gate(engine))
    rpc.hold.clear()
    invoker = _invoker(database, engine, rpc)
    ended = []
    with _execution_writes(database) as writes:
        caller = threading.Thread(
            target=lambda: ended.append(invoker.invoke(CTX, _order(function_id)))
        )
        caller.start()
        try:
            assert rpc.before_run.wait(10)
            assert writes == []  # the API process wrote nothing
        finally:
            rpc.hold.set()
        caller.join(10)
    assert writes == ["INSERT", "UPDATE"]  # running, by the engine; then its end
    stored = execution(database, ended[0].id)
    assert (stored.status, stored.engine_host) == ("success", engine._conf.engine.host)


def test_a_stopping_engine_writes_it_as_not_run(database, manager):
    engine, orchestrator, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    gate = Gate(engine)
    gate.close()
    row = _invoker(database, engine, OverRpc(gate)).invoke(CTX, _order(function_id))
    assert orchestrator.runs == []
    stored = execution(database, row.id)
    assert (row.status, stored.status) == ("error", "error")
    assert STOPPING_MESSAGE in stored.result


def test_a_function_that_cannot_run_is_written_by_the_api(database, manager):
    engine, _, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    with database.transaction() as session:
        session.execute(sa.update(models.Runtime).values(status="error"))
    rpc = OverRpc(Gate(engine))
    row = _invoker(database, engine, rpc).invoke(CTX, _order(function_id))
    assert not rpc.before_run.is_set()
    assert execution(database, row.id).status == "error"
    assert "not available" in json.loads(row.result)["output"]


def test_async_executions_are_accepted_first(database, manager):
    engine, _, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    rpc = OverRpc(Gate(engine))
    row = _invoker(database, engine, rpc).invoke(CTX, _order(function_id, sync=False))
    assert not rpc.before_run.is_set()
    assert processes.wait_for(lambda: execution(database, row.id)).status == "running"


class Unanswered:
    """An engine that never answers, having written the row as running first
    (its host given) or not."""

    def __init__(self, database, host: str | None = None) -> None:
        self._database = database
        self._host = host

    def run_recorded(self, ctx, execution, spec, request, *, timeout):
        if self._host is not None:
            running = records.row_from_wire(execution) | {
                "engine_host": self._host,
                "started_at": models.utcnow(),
            }
            self._database.write(lambda conn: db_executions.insert(conn, running))
        raise exceptions.ServiceUnavailable("The engine did not answer 'run_recorded' in time.")


def test_an_execution_its_engine_never_answered_for_is_recorded_by_the_api(database, manager):
    engine, _, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    with pytest.raises(exceptions.ServiceUnavailable):
        _invoker(database, engine, Unanswered(database)).invoke(CTX, _order(function_id))
    with database.transaction() as session:
        (row,) = session.scalars(sa.select(models.Execution)).all()
    assert row.status == "error" and "did not answer" in row.result


def test_one_its_engine_wrote_is_left_to_the_engine(database, manager):
    engine, _, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    with pytest.raises(exceptions.ServiceUnavailable):
        _invoker(database, engine, Unanswered(database, "engine-2")).invoke(
            CTX, _order(function_id)
        )
    with database.transaction() as session:
        (row,) = session.scalars(sa.select(models.Execution)).all()
    assert (row.status, row.engine_host) == ("running", "engine-2")
