"""A sync execution in process: read and claimed in one statement, run by
this engine, written once as it ended unless it runs long (``ClaimingInvoker``
with ``PendingExecutions``)."""

from __future__ import annotations

import contextlib
import json
import threading

import pytest
import sqlalchemy as sa

from qinling import bootstrap, exceptions
from qinling.context import admin_context
from qinling.db import executions as db_executions
from qinling.db import models
from qinling.engine.client import InProcessEngineClient
from qinling.engine.invoker import ClaimingInvoker
from qinling.engine.pending import PendingExecutions
from qinling.engine.service import STOPPING_MESSAGE, Gate
from qinling.work_gate import GATE
from tests import processes
from tests.unit.db import rows
from tests.unit.engine.support import execution, make_function, package

CTX = admin_context()
RETURNS_INPUT = "def main(a=None, **kw):\n    return a\n"


def _order(function_id: str, *, sync: bool = True, **values) -> db_executions.Order:
    fields = dict(function_id=function_id, version=None, alias=None, input={"a": 1}, sync=sync)
    return db_executions.Order(**(fields | {"description": None} | values))


def _invoker(
    database, engine, gate, submitted: list, *, write_after: float = 60.0, run=None
) -> ClaimingInvoker:
    client = InProcessEngineClient(gate, submit=lambda task, *a, **kw: submitted.append(a))
    return ClaimingInvoker(
        engine.loader,
        PendingExecutions(database, write_after),
        run or gate.run_only,
        fallback=bootstrap.engine_invoker(database, client),  # as the services wire it
    )


@contextlib.contextmanager
def _statements(database, pick):
    """What ``pick`` makes of each statement run on ``database`` meanwhile
    (None: left out)."""
    seen: list[str] = []

    def watch(conn, cursor, statement, parameters, context, executemany):
        picked = pick(statement)
        if picked is not None:
            seen.append(picked)

    sa.event.listen(database.engine, "before_cursor_execute", watch)
    try:
        yield seen
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", watch)


def _execution_writes(database):
    """The INSERTs and UPDATEs of executions run on ``database`` meanwhile."""

    def verb(statement: str) -> str | None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        wanted = verb in ("INSERT", "UPDATE") and "executions" in statement.split("(")[0]
        return verb if wanted else None

    return _statements(database, verb)


class HeldRun:
    """A run that waits for ``release`` once it has started."""

    def __init__(self, gate: Gate) -> None:
        self._gate = gate
        self.started = threading.Event()
        self.release = threading.Event()

    def __call__(self, ctx, spec, request):
        self.started.set()
        if not self.release.wait(30):
            raise AssertionError("the test never released the run")
        return self._gate.run_only(ctx, spec, request)


def _written_row(database) -> models.Execution | None:
    with database.transaction() as session:
        return session.scalars(sa.select(models.Execution)).first()


@contextlib.contextmanager
def _held_in_its_run(database, manager, *, write_after: float):
    """A sync execution invoked in a thread and held in its run until the
    block ends. Yields its row once written, and a list that then gets what
    the invoker answered."""
    engine, _, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    held = HeldRun(Gate(engine))
    invoker = _invoker(database, engine, Gate(engine), [], write_after=write_after, run=held)
    ended: list = []
    caller = threading.Thread(target=lambda: ended.append(invoker.invoke(CTX, _order(function_id))))
    caller.start()
    try:
        assert held.started.wait(10)
        yield processes.wait_for(lambda: _written_row(database), what="the row"), ended
    finally:
        held.release.set()
        caller.join(10)


def invoked_and_written_once(database, manager, invoker, function_id: str):
    """A sync execution of ``function_id``, after checking it ran here, was
    written in one INSERT and is recorded as its caller was told."""
    engine, orchestrator, _ = manager
    with _execution_writes(database) as writes:
        row = invoker.invoke(CTX, _order(function_id))
    assert writes == ["INSERT"]
    assert orchestrator.runs[-1] == row.id
    assert (row.status, json.loads(row.result)["output"]) == ("success", 1)
    stored = execution(database, row.id)
    assert (stored.status, stored.engine_host) == ("success", engine._conf.engine.host)
    assert stored.started_at >= stored.created_at and stored.finished_at
    assert (stored.created_at, stored.input) == (row.created_at, '{"a": 1}')
    return row


def test_a_sync_execution_is_claimed_runs_here_and_is_written_once(database, manager):
    engine, orchestrator, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    invoker = _invoker(database, engine, Gate(engine), [])

    row = invoked_and_written_once(database, manager, invoker, function_id)
    assert row.id in orchestrator.runs
    engine.loader.counts.flush()  # counts are written in batches, once a second
    with database.transaction() as session:
        assert session.get(models.Function, function_id).count == 1


def test_a_sync_execution_running_long_is_written_as_running_then_ended(database, manager):
    engine, _, _ = manager

    with (
        _execution_writes(database) as writes,
        _held_in_its_run(database, manager, write_after=0.05) as (running, ended),
    ):
        pass

    # Listed while it ran, claimed by this engine, so the reaper would end it.
    assert (running.status, running.engine_host) == ("running", engine._conf.engine.host)
    assert running.started_at is not None and running.finished_at is None
    assert writes == ["INSERT", "UPDATE"]
    assert ended[0].id == running.id and ended[0].status == "success"
    assert execution(database, running.id).status == "success"


def test_a_sync_execution_cancelled_while_it_runs_stays_cancelled(database, manager):
    engine, _, _ = manager

    with _held_in_its_run(database, manager, write_after=0.0) as (running, ended):
        assert engine.cancel_execution(CTX, running.id) is True

    assert ended[0].status == "cancelled"
    assert execution(database, running.id).status == "cancelled"


def test_with_write_after_zero_the_row_is_written_before_the_run(database, manager):
    engine, _, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    gate = Gate(engine)
    seen: list[str] = []

    def run(ctx, spec, request):
        seen.append(execution(database, request.execution_id).status)
        return gate.run_only(ctx, spec, request)

    invoker = _invoker(database, engine, gate, [], write_after=0.0, run=run)

    with _execution_writes(database) as writes:
        row = invoker.invoke(CTX, _order(function_id))

    assert seen == ["running"]
    assert writes == ["INSERT", "UPDATE"]
    assert execution(database, row.id).status == "success"


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


def test_an_unknown_function_is_refused_and_nothing_is_written(database, manager):
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


def test_a_stopping_engine_ends_a_sync_execution_with_a_message(database, manager):
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


def test_a_sync_execution_waiting_for_its_function_lets_others_run(database, manager):
    """Each holds the work gate as the HTTP hot path does (``api.gated``)."""
    engine, _, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    held = HeldRun(Gate(engine))
    held_invoker = _invoker(database, engine, Gate(engine), [], run=held)
    quick_invoker = _invoker(database, engine, Gate(engine), [])

    def gated_invoke(invoker, into: list) -> None:
        with GATE.held():
            into.append(invoker.invoke(CTX, _order(function_id)))

    slow, quick = [], []
    waiting = threading.Thread(target=gated_invoke, args=(held_invoker, slow))
    waiting.start()
    try:
        assert held.started.wait(10)
        other = threading.Thread(target=gated_invoke, args=(quick_invoker, quick))
        other.start()
        other.join(10)
        assert [row.status for row in quick] == ["success"]
        assert slow == []
    finally:
        held.release.set()
        waiting.join(10)
    assert [row.status for row in slow] == ["success"]


def _function_reads(database):
    """The SELECTs of functions run on ``database`` meanwhile."""

    def select(statement: str) -> str | None:
        wanted = statement.lstrip().upper().startswith("SELECT") and "FROM functions" in statement
        return statement if wanted else None

    return _statements(database, select)


def test_a_function_is_read_once_until_it_changes(database, manager):
    """Its next executions reuse the row; a new package is run at once."""
    engine, _, store = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    invoker = _invoker(database, engine, Gate(engine), [])

    with _function_reads(database) as reads:
        first = invoker.invoke(CTX, _order(function_id))
        second = invoker.invoke(CTX, _order(function_id))
    assert (len(reads), first.status, second.status) == (1, "success", "success")

    stored = store.store([package("def main(**kw):\n    return 'new'\n")], max_size=1 << 20)
    with database.transaction() as session:
        session.get(models.Function, function_id).package_digest = stored.digest
    with _function_reads(database) as reads:
        after = invoker.invoke(CTX, _order(function_id))
    assert len(reads) == 1
    assert json.loads(after.result)["output"] == "new"


def _kept(database, manager, scope: str | None = None) -> tuple[str, ClaimingInvoker]:
    """A function run once through a new invoker, which keeps its row; both."""
    engine, _, _ = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    invoker = _invoker(database, engine, Gate(engine), [])
    assert invoker.invoke(CTX, _order(function_id, scope_project=scope)).status == "success"
    return function_id, invoker


def test_a_runtime_made_unavailable_is_seen_by_the_next_execution(database, manager):
    function_id, invoker = _kept(database, manager)

    with database.transaction() as session:
        function = session.get(models.Function, function_id)
        session.execute(
            sa.update(models.Runtime)
            .where(models.Runtime.id == function.runtime_id)
            .values(status="error")
        )
    row = invoker.invoke(CTX, _order(function_id))

    assert row.status == "error" and "not available" in json.loads(row.result)["output"]


def test_a_kept_function_stays_invisible_to_other_projects(database, manager):
    function_id, invoker = _kept(database, manager, scope=rows.PROJECT)

    with pytest.raises(exceptions.NotFound):
        invoker.invoke(CTX, _order(function_id, scope_project=rows.OTHER_PROJECT))


def test_a_deleted_function_is_not_run_from_what_was_kept(database, manager):
    function_id, invoker = _kept(database, manager)

    with database.transaction() as session:
        session.execute(sa.delete(models.Execution))
        session.delete(session.get(models.Function, function_id))
    with pytest.raises(exceptions.NotFound):
        invoker.invoke(CTX, _order(function_id))


def test_async_executions_read_their_function_once_until_it_changes(database, manager):
    """Once for where they are accepted and where the engine claims them:
    one process's API and engine keep one set of rows (``Database.run_targets``)."""
    engine, _, store = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    invoker = _invoker(database, engine, Gate(engine), [])

    def run_async() -> list[dict]:
        accepted = [invoker.invoke(CTX, _order(function_id, sync=False)) for _ in range(3)]
        return [engine.create_execution(CTX, row.id) for row in accepted]

    with _function_reads(database) as reads:
        ended = run_async()
    assert [row["status"] for row in ended] == ["success"] * 3
    assert len(reads) == 1

    stored = store.store([package("def main(**kw):\n    return 'new'\n")], max_size=1 << 20)
    with database.transaction() as session:
        session.get(models.Function, function_id).package_digest = stored.digest
    with _function_reads(database) as reads:
        ended = run_async()
    assert len(reads) == 1
    assert [json.loads(row["result"])["output"] for row in ended] == ["new"] * 3


def _alias_and_version_reads(database):
    """The SELECTs of aliases and of function versions run meanwhile."""

    def select(statement: str) -> str | None:
        wanted = statement.lstrip().upper().startswith("SELECT") and (
            "FROM function_aliases" in statement or "FROM function_versions" in statement
        )
        return statement if wanted else None

    return _statements(database, select)


def test_an_alias_and_its_version_are_read_once_until_the_alias_moves(database, manager):
    engine, _, store = manager
    function_id = make_function(database, manager, RETURNS_INPUT)
    with database.transaction() as session:
        for number in (1, 2):
            source = f"def main(**kw):\n    return 'v{number}'\n"
            stored = store.store([package(source)], max_size=1 << 20)
            function = session.get(models.Function, function_id)
            version = rows.version(
                function_id, number, runtime_id=function.runtime_id, package_digest=stored.digest
            )
            rows.add(session, version)
        rows.add(session, rows.alias(function_id, "prod", function_version=1))
    invoker = _invoker(database, engine, Gate(engine), [])
    by_alias = _order(None, alias="prod", alias_project=rows.PROJECT)

    with _alias_and_version_reads(database) as reads:
        ran = [invoker.invoke(CTX, by_alias) for _ in range(3)]
    assert [json.loads(row.result)["output"] for row in ran] == ["v1"] * 3
    assert [(row.function_alias, row.function_version) for row in ran] == [("prod", 1)] * 3
    assert len(reads) == 2  # the alias, then its version

    with database.transaction() as session:
        session.execute(sa.update(models.FunctionAlias).values(function_version=2))
    after = invoker.invoke(CTX, by_alias)
    assert (json.loads(after.result)["output"], after.function_version) == ("v2", 2)
