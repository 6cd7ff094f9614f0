"""qinling-api's sync path without a data socket: read in the API, run and
written once by an engine over RPC (``RemoteRunInvoker``,
``EngineManager.run_recorded``)."""

from __future__ import annotations

import json
import threading

import sqlalchemy as sa

from qinling.api.invoker import EngineInvoker
from qinling.context import admin_context
from qinling.db import models
from qinling.engine.client import InProcessEngineClient
from qinling.engine.invoker import RemoteRunInvoker
from qinling.engine.loader import ExecutionLoader
from qinling.engine.service import STOPPING_MESSAGE, Gate
from tests import processes
from tests.unit.engine.support import execution, make_function
from tests.unit.engine.test_claimed_path import RETURNS_INPUT, _execution_writes, _order

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
    engine, orchestrator, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    invoker = _invoker(database, engine, OverRpc(Gate(engine)))

    with _execution_writes(database) as writes:
        row = invoker.invoke(CTX, _order(function_id))

    assert writes == ["INSERT"]
    assert orchestrator.runs == [row.id]
    assert (row.status, json.loads(row.result)["output"]) == ("success", 1)
    stored = execution(database, row.id)
    assert (stored.status, stored.engine_host) == ("success", engine._conf.engine.host)
    assert stored.created_at == row.created_at and stored.started_at >= stored.created_at


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
