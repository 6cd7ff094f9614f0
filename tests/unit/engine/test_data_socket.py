"""The engine's data socket and its client: what an API process of
``qinling-server`` asks the engine, over a real Unix socket, with the engine
on the fake driver."""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import socket
import stat
import tempfile
import threading
import time

import pytest

from qinling import conf as qconf
from qinling import exceptions
from qinling.context import RequestContext, admin_context
from qinling.db import executions as db_executions
from qinling.db import models
from qinling.engine import records, specs
from qinling.engine.data_socket import DataSocketServer
from qinling.engine.invoker import ClaimingInvoker
from qinling.engine.loader import ExecutionLoader
from qinling.engine.pending import PendingExecutions
from qinling.engine.service import STOPPING_MESSAGE, Gate
from qinling.engine.socket_client import ClaimedRunner, SocketEngineClient
from qinling.orchestrator.local._sandbox import wire
from tests.unit.db import rows
from tests.unit.engine.support import execution, make_function

CTX = admin_context()
RETURNS_INPUT = "def main(a=None, **kw):\n    return a\n"


class Engine:
    """A DataSocketServer over a real Gate, and what reached ``submit`` and ``record``."""

    def __init__(self, path: str, gate, database) -> None:
        self.submitted: list[tuple] = []
        self.recorded = threading.Event()
        self.recorded_ids: list[str] = []
        self._database = database
        self.server = DataSocketServer(path, gate, self._submit, self._record)

    def _submit(self, task, ctx, **kwargs) -> None:
        self.submitted.append((task, ctx, kwargs))

    def _record(self, execution_id: str, result) -> None:
        records.record(self._database, execution_id, result)
        self.recorded_ids.append(execution_id)
        self.recorded.set()

    def stop(self) -> None:
        # stop() alone leaves the accept thread blocked in accept() for good
        # (see test_stop_ends_the_accept_thread); shutting the listener down
        # first wakes it, so that no test leaves such a thread behind.
        listener = self.server._listener
        if listener is not None:
            listener.shutdown(socket.SHUT_RDWR)
        self.server.stop()


@pytest.fixture
def socket_dir():
    # tmp_path may exceed the 108 bytes of a Unix socket's path.
    directory = tempfile.mkdtemp(prefix="qds-")
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def gate(manager):
    yield Gate(manager[0])
    manager[0].loader.counts.close()  # ends its writer thread, if an execution started it


@pytest.fixture
def engine(socket_dir, gate, database):
    served = Engine(os.path.join(socket_dir, "engine.sock"), gate, database)
    served.server.start()
    yield served
    served.stop()


@pytest.fixture
def client(engine):
    connected = SocketEngineClient(engine.server.path, sync_margin=2)
    yield connected
    connected.shutdown()


@pytest.fixture
def raw(engine):
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.settimeout(10)
    conn.connect(engine.server.path)
    yield conn
    conn.close()


def _order(function_id: str) -> db_executions.Order:
    return db_executions.Order(
        function_id=function_id,
        version=None,
        alias=None,
        input={"a": 7},
        sync=True,
        description=None,
    )


def _accepted_row(database, function_id: str) -> str:
    """An execution accepted by the API and not yet claimed by any engine."""
    with database.transaction() as session:
        row = rows.execution(function_id, input='{"a": 7}')
        rows.add(session, row)
        return row.id


def _runtime_of(database, function_id: str) -> str:
    with database.transaction() as session:
        return session.get(models.Function, function_id).runtime_id


def _claimed_here(engine_manager, function_id: str):
    """A sync execution read and claimed by the engine's own host, unwritten."""
    loader = engine_manager.loader
    return loader.load_claimed(_order(function_id), claim_host=loader.host)


def _written(database, claimed):
    """A claimed sync execution written as running, as a long run is."""
    with database.connection() as conn:
        db_executions.insert(conn, claimed.accepted.row)
    return claimed


def _api_process_invoker(
    database, client, loader: ExecutionLoader, *, write_after: float = 60.0
) -> ClaimingInvoker:
    """Sync executions as an API process runs them: over the data socket."""
    return ClaimingInvoker(
        loader,
        PendingExecutions(database, write_after),
        ClaimedRunner(client),
        fallback=None,
        host=functools.partial(client.engine_host, unreachable="api-host"),
    )


@pytest.fixture
def api_loader(database, manager, tmp_path):
    """An API process's loader, its own ``[engine] host`` (``api-host``) not the engine's."""
    conf = qconf.new_config([])
    conf.set_override("state_dir", str(tmp_path))
    conf.set_override("host", "api-host", group="engine")
    loader = ExecutionLoader(conf, database, manager[2])
    yield loader
    loader.counts.close()


def _output(row: models.Execution):
    return json.loads(row.result)["output"]


def _run_frame(claimed) -> dict:
    request = claimed.request
    return {
        "method": "run",
        "context": CTX.to_dict(),
        "args": {
            "spec": specs.spec_to_wire(claimed.spec),
            "request": {
                "execution_id": request.execution_id,
                "input": request.input,
                "context": request.context,
            },
        },
        "cast": False,
    }


# Calls ----------------------------------------------------------------------


def test_pool_and_worker_calls_answer_as_the_engine_does(database, manager, gate, client):
    function_id = make_function(database, manager, RETURNS_INPUT)
    runtime_id = _runtime_of(database, function_id)

    assert client.get_runtime_pool(CTX, runtime_id) == gate.get_runtime_pool(CTX, runtime_id)
    assert client.list_workers(CTX, function_id) == []

    client.scale_up(CTX, function_id, 0, 3)
    scaled_up = client.list_workers(CTX, function_id)
    client.scale_down(CTX, function_id, 0, 2)
    scaled_down = client.list_workers(CTX, function_id, 0)

    assert len(scaled_up) == 3
    assert {(w["function_id"], w["function_version"]) for w in scaled_up} == {(function_id, 0)}
    assert scaled_down == gate.list_workers(CTX, function_id, 0)
    assert len(scaled_down) == 1
    assert client.get_runtime_pool(CTX, runtime_id)["workers"] == 1


def test_a_sync_execution_runs_and_its_row_is_final(database, manager, client):
    engine, orchestrator, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    execution_id = _accepted_row(database, function_id)

    outcome = client.create_execution(CTX, execution_id, sync=True, timeout=5)

    assert orchestrator.runs == [execution_id]
    assert outcome["status"] == "success"
    assert json.loads(outcome["result"])["output"] == 7
    row = execution(database, execution_id)
    assert (row.status, _output(row), row.engine_host) == ("success", 7, engine._conf.engine.host)
    assert row.finished_at is not None


def test_cancelling_an_unknown_or_finished_execution_answers_false(database, manager, client):
    function_id = make_function(database, manager, RETURNS_INPUT)
    finished = _accepted_row(database, function_id)
    client.create_execution(CTX, finished, sync=True, timeout=5)

    assert client.cancel_execution(CTX, "no-such-execution", host=None) is False
    assert client.cancel_execution(CTX, finished, host=None) is False
    assert execution(database, finished).status == "success"


def test_a_domain_error_comes_back_as_its_own_class_and_message(gate, client):
    with pytest.raises(exceptions.NotFound) as in_process:
        gate.scale_up(CTX, "no-such-function", 0, 1)

    with pytest.raises(exceptions.NotFound) as over_socket:
        client.scale_up(CTX, "no-such-function", 0, 1)
    with pytest.raises(exceptions.NotFound) as pool:
        client.get_runtime_pool(CTX, "no-such-runtime")

    assert over_socket.value.message == in_process.value.message
    assert "no-such-function" in over_socket.value.message
    assert "no-such-runtime" in pool.value.message


def test_an_unknown_method_is_refused_and_the_connection_stays_usable(raw):
    for method in ("shutdown", "_manager", "run_claimed", None):
        wire.send(raw, {"method": method, "context": {}, "args": {}, "cast": False})
        reply = wire.recv(raw)
        assert reply == {
            "error": {"type": "InputError", "message": f"Unknown engine call {method!r}."}
        }

    wire.send(raw, {"method": "list_workers", "context": {}, "args": {"function_id": "f"}})
    assert wire.recv(raw) == {"result": []}


def test_an_unexpected_failure_is_answered_without_its_details(raw):
    wire.send(raw, {"method": "scale_down", "context": {}, "args": {"bogus": 1}, "cast": False})

    assert wire.recv(raw) == {
        "error": {"type": "QinlingError", "message": "The engine failed: TypeError"}
    }


def test_casts_are_not_answered_and_reach_submit_in_order(database, manager, engine, client):
    _, orchestrator, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    execution_id = _accepted_row(database, function_id)
    ctx = RequestContext(project_id=rows.PROJECT, user_id="alice", roles=("member",))

    # submit only records the task: each cast returns before anything runs.
    assert client.create_runtime(ctx, "rt-1") is None
    assert client.update_runtime(ctx, "rt-1") is None
    assert client.delete_runtime(ctx, "rt-1") is None
    assert client.delete_function(ctx, function_id, 2) is None
    assert client.create_execution(ctx, execution_id, sync=False, timeout=5) is None
    # A call's answer comes after the casts sent before it on the connection.
    assert client.list_workers(ctx, function_id) == []

    assert orchestrator.runs == []
    assert execution(database, execution_id).status == "running"
    assert [(task.__name__, kwargs) for task, _, kwargs in engine.submitted] == [
        ("create_runtime", {"runtime_id": "rt-1"}),
        ("update_runtime", {"runtime_id": "rt-1"}),
        ("delete_runtime", {"runtime_id": "rt-1"}),
        ("delete_function", {"function_id": function_id, "version": 2}),
        ("create_execution", {"execution_id": execution_id}),
    ]
    assert {(c.project_id, c.user_id, c.roles) for _, c, _ in engine.submitted} == {
        (rows.PROJECT, "alice", ("member",))
    }

    # The async execution's task is the engine's own: run it as the pool would.
    task, task_ctx, kwargs = engine.submitted[-1]
    task(task_ctx, **kwargs)
    assert orchestrator.runs == [execution_id]
    assert execution(database, execution_id).status == "success"


# The data path ---------------------------------------------------------------


def test_run_returns_the_result_and_leaves_recording_to_the_caller(
    database, manager, engine, client
):
    engine_manager, orchestrator, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    first = _written(database, _claimed_here(engine_manager, function_id))
    second = _written(database, _claimed_here(engine_manager, function_id))

    result = client.run(CTX, first.spec, first.request)
    again = ClaimedRunner(client)(CTX, second.spec, second.request)

    assert (result.success, result.output, result.cold_start) == (True, 7, True)
    assert (again.success, again.output) == (True, 7)
    assert again.cold_start is False  # the spec came over the wire intact: warm reuse
    assert orchestrator.runs == [first.accepted.id, second.accepted.id]
    # Recording the run is the caller's: the engine left both running.
    assert execution(database, first.accepted.id).status == "running"
    assert execution(database, second.accepted.id).status == "running"
    assert engine.recorded_ids == []


def test_an_api_process_writes_its_sync_execution_once_as_it_ended(
    database, manager, engine, client, api_loader
):
    engine_manager, orchestrator, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    invoker = _api_process_invoker(database, client, api_loader)

    row = invoker.invoke(CTX, _order(function_id))

    assert (row.status, _output(row)) == ("success", 7)
    stored = execution(database, row.id)
    assert (stored.status, _output(stored)) == ("success", 7)
    assert orchestrator.runs == [row.id] and engine.recorded_ids == []


def test_an_api_process_claims_a_sync_execution_under_the_engines_host(
    database, manager, engine, client, api_loader
):
    """Written as running (as a long run is), the execution names the engine
    that runs it, where cancels and the reaper look: not the API process's
    own ``[engine] host``."""
    engine_manager, orchestrator, _ = manager
    assert engine_manager.engine_host(CTX) != "api-host"
    function_id = make_function(database, manager, RETURNS_INPUT)
    invoker = _api_process_invoker(database, client, api_loader, write_after=0.0)

    row = invoker.invoke(CTX, _order(function_id))

    assert orchestrator.runs == [row.id]
    stored = execution(database, row.id)
    assert (stored.status, stored.engine_host) == ("success", engine_manager.engine_host(CTX))


def test_a_stopping_engine_answers_run_with_a_message(database, manager, gate, client):
    engine_manager, orchestrator, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    claimed = _claimed_here(engine_manager, function_id)
    gate.close()

    result = ClaimedRunner(client)(CTX, claimed.spec, claimed.request)

    assert orchestrator.runs == []
    assert (result.success, result.platform_error) == (False, STOPPING_MESSAGE)


class HeldGate:
    """A gate whose runs wait for ``release`` once they have started."""

    def __init__(self, gate: Gate) -> None:
        self._gate = gate
        self.started = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name: str):
        return getattr(self._gate, name)

    def run_only(self, ctx, spec, request):
        self.started.set()
        if not self.release.wait(30):
            raise AssertionError("the test never released the run")
        return self._gate.run_only(ctx, spec, request)


def test_a_run_whose_caller_went_away_is_recorded_by_the_engine(
    database, manager, gate, socket_dir
):
    engine_manager, orchestrator, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    claimed = _written(database, _claimed_here(engine_manager, function_id))
    held = HeldGate(gate)
    served = Engine(os.path.join(socket_dir, "held.sock"), held, database)
    served.server.start()
    caller = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        caller.connect(served.server.path)
        wire.send(caller, _run_frame(claimed))
        assert held.started.wait(10), "the engine did not start the run"
        caller.close()  # the API process died while its execution ran
        held.release.set()

        assert served.recorded.wait(10), "the engine did not record the run itself"
    finally:
        held.release.set()
        caller.close()
        served.stop()

    assert served.recorded_ids == [claimed.accepted.id]
    assert orchestrator.runs == [claimed.accepted.id]
    stored = execution(database, claimed.accepted.id)
    assert (stored.status, _output(stored)) == ("success", 7)


# The connection --------------------------------------------------------------


def test_the_client_replaces_its_connection_after_an_engine_restart(
    database, manager, engine, client
):
    function_id = make_function(database, manager, RETURNS_INPUT)
    client.scale_up(CTX, function_id, 0, 1)
    assert len(client.list_workers(CTX, function_id)) == 1  # a connection is open

    engine.stop()
    with pytest.raises(exceptions.ServiceUnavailable) as down:
        client.list_workers(CTX, function_id)
    assert engine.server.path in down.value.message
    engine.server.start()

    assert len(client.list_workers(CTX, function_id)) == 1

    # Restarted again while this thread's connection stayed open: the stale
    # one is replaced on the next call, which the caller does not notice.
    engine.stop()
    engine.server.start()
    assert len(client.list_workers(CTX, function_id)) == 1


def test_the_engine_host_is_asked_again_after_the_engine_restarted(manager, engine, client):
    engine_manager = manager[0]
    named = client.engine_host()
    assert named == engine_manager.engine_host(CTX)

    engine.stop()
    engine_manager._conf.set_override("host", "renamed-engine", group="engine")
    engine.server.start()
    with contextlib.suppress(exceptions.ServiceUnavailable):
        client.list_workers(CTX, "f")  # finds its connection stale

    assert client.engine_host() == "renamed-engine"


def test_a_socket_file_nobody_listens_on_is_unavailable(socket_dir):
    path = os.path.join(socket_dir, "dead.sock")
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(path)  # what an engine killed with SIGKILL leaves
    leftover.close()
    client = SocketEngineClient(path, sync_margin=2)

    with pytest.raises(exceptions.ServiceUnavailable) as refused:
        client.list_workers(CTX, "f")

    assert path in refused.value.message
    assert "cannot be reached" in refused.value.message


def test_an_unreachable_engine_ends_the_sync_execution_in_error(
    database, manager, engine, client, api_loader
):
    engine_manager, orchestrator, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    invoker = _api_process_invoker(database, client, api_loader)
    engine.stop()

    row = invoker.invoke(CTX, _order(function_id))

    assert orchestrator.runs == []
    assert row.status == "error"
    stored = execution(database, row.id)
    assert stored.status == "error" and stored.finished_at is not None
    assert "cannot be reached" in _output(stored)
    assert engine.server.path in _output(stored)


def test_the_socket_is_private_and_removed_on_stop(socket_dir, gate, database):
    path = os.path.join(socket_dir, "engine.sock")
    leftover = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    leftover.bind(path)  # a previous run's, left by a crash
    leftover.close()
    served = Engine(path, gate, database)
    umask = os.umask(0o022)
    try:
        served.server.start()
        assert os.umask(0o022) == 0o022  # start() restored it

        mode = os.stat(path).st_mode
        assert stat.S_ISSOCK(mode) and stat.S_IMODE(mode) == 0o600
        client = SocketEngineClient(path, sync_margin=2)
        assert client.list_workers(CTX, "f") == []
        client.shutdown()
    finally:
        os.umask(umask)
        served.stop()

    assert not os.path.exists(path)


def _blocked_on(thread: threading.Thread, fd: int) -> str | None:
    """The syscall ``thread`` is blocked in with ``fd`` as first argument (``proc(5)``)."""
    with open(f"/proc/self/task/{thread.native_id}/syscall") as f:
        fields = f.read().split()
    return fields[0] if fields[1:2] == [hex(fd)] else None


def _poll(predicate, what: str):
    deadline = time.monotonic() + 5
    while not (value := predicate()):
        assert time.monotonic() < deadline, f"{what} did not happen"
        time.sleep(0.001)
    return value


def _accept_once(listener: socket.socket) -> None:
    with contextlib.suppress(OSError):  # woken by shutdown()
        listener.accept()


def _wait_in_accept(thread: threading.Thread, listener: socket.socket) -> None:
    """Wait until ``thread`` is blocked in accept() on ``listener``; accept's
    number is read from a thread of this test's own, blocked in it too."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as reference:
        reference.bind("")  # an abstract address: no file
        reference.listen()
        waiting = threading.Thread(target=_accept_once, args=(reference,), daemon=True)
        waiting.start()
        try:
            accept = _poll(lambda: _blocked_on(waiting, reference.fileno()), "accept()")
        finally:
            reference.shutdown(socket.SHUT_RDWR)
            waiting.join(5)
    _poll(lambda: _blocked_on(thread, listener.fileno()) == accept, "accept() on the listener")


def test_stop_ends_the_accept_thread(socket_dir, gate, database):
    served = Engine(os.path.join(socket_dir, "engine.sock"), gate, database)
    before = set(threading.enumerate())
    served.server.start()
    (accept_thread,) = [t for t in threading.enumerate() if t not in before]
    same_listener = served.server._listener.dup()
    try:
        _wait_in_accept(accept_thread, served.server._listener)
        served.server.stop()
        accept_thread.join(1)
        assert not accept_thread.is_alive()
    finally:
        same_listener.shutdown(socket.SHUT_RDWR)  # wakes it, for the next tests
        same_listener.close()
        accept_thread.join(5)


def test_a_cast_gets_no_answer_and_an_unknown_one_is_ignored(raw, engine):
    wire.send(raw, {"method": "run", "context": {}, "args": {}, "cast": True})
    wire.send(raw, {"method": "no_such_call", "context": {}, "args": {}, "cast": True})
    wire.send(
        raw, {"method": "delete_runtime", "context": {}, "args": {"runtime_id": "r"}, "cast": True}
    )
    wire.send(raw, {"method": "list_workers", "context": {}, "args": {"function_id": "f"}})

    # The first answer on the connection is the call's.
    assert wire.recv(raw) == {"result": []}
    assert [task.__name__ for task, _, _ in engine.submitted] == ["delete_runtime"]


def test_an_async_execution_the_engine_cannot_be_told_of_stays_accepted(socket_dir, caplog):
    """Its row is committed: the reaper runs it after [engine] pickup_timeout,
    as when a cast over RPC cannot be sent; the caller is not told it failed."""
    nowhere = SocketEngineClient(os.path.join(socket_dir, "gone.sock"), sync_margin=2)

    assert nowhere.create_execution(CTX, "e-1", sync=False, timeout=5) is None
    assert "Execution e-1 left for the reaper" in caplog.text
    with pytest.raises(exceptions.ServiceUnavailable):
        nowhere.create_execution(CTX, "e-2", sync=True, timeout=5)
