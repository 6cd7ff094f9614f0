"""Sync executions held until they end (``engine.pending``): those that end in
time are written once, as ended, and the writer thread lets them go."""

from __future__ import annotations

import threading
import time

import pytest

from qinling.db import executions as db_executions
from qinling.engine.pending import PendingExecutions
from qinling.orchestrator import base
from qinling.work_gate import GATE
from tests import processes
from tests.unit.engine.support import execution, make_function


def _row(database, manager, function_id: str) -> dict:
    with database.connection() as conn:
        order = db_executions.Order(
            function_id=function_id,
            version=None,
            alias=None,
            input={},
            sync=True,
            description=None,
        )
        accepted = db_executions.order_execution(
            conn, order, claim_host=manager[0]._conf.engine.host
        )
    return accepted.row


@pytest.fixture
def function_id(database, manager) -> str:
    return make_function(database, manager, "def main(**kw):\n    return 1\n")


def test_executions_that_end_in_time_are_written_once_and_let_go(database, manager, function_id):
    pending = PendingExecutions(database, after=0.05)
    held = [pending.hold(_row(database, manager, function_id)) for _ in range(50)]
    for one in held:
        pending.end(one, base.ExecutionResult(success=True, output="1"))

    # The writer thread drops each once it is due, without writing it again.
    processes.wait_for(lambda: not pending._due, what="the held executions to be let go")
    pending.close()
    assert {execution(database, one.row["id"]).status for one in held} == {"success"}


def test_one_still_running_is_written_as_running_once_due(database, manager, function_id):
    pending = PendingExecutions(database, after=0.05)
    early = pending.hold(_row(database, manager, function_id))
    pending.end(early, base.ExecutionResult(success=True, output="1"))
    long = pending.hold(_row(database, manager, function_id))

    processes.wait_for(
        lambda: execution(database, long.row["id"]) is not None,
        what="the long run to be written",
    )
    assert execution(database, long.row["id"]).status == "running"
    assert pending.end(long, base.ExecutionResult(success=True, output="1")) is not None
    pending.close()
    assert execution(database, long.row["id"]).status == "success"


def _in_thread(target) -> threading.Thread:
    # Daemon threads: should they deadlock, the test fails and the run goes on.
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_a_run_ending_while_its_row_is_written_as_running_does_not_deadlock(
    database, manager, function_id
):
    """Found under load: an API process stopped answering for good. A request
    held the work gate and waited for its execution's lock; the writer
    thread held that lock, its write queued behind another request's, which
    had been handed the lead of the group commit and needed the gate back."""
    pending = PendingExecutions(database, after=0.01)
    held = pending.hold(_row(database, manager, function_id))
    first_may_end, gate_taken = threading.Event(), threading.Event()

    def first(conn) -> None:  # a commit under way, as under load
        first_may_end.wait(30)

    def other_request() -> None:
        with GATE.held():
            database.write(lambda conn: None)

    def ending_request() -> None:
        with GATE.held():
            gate_taken.set()
            pending.end(held, base.ExecutionResult(success=True, output="1"))

    threads = [_in_thread(lambda: database.write(first))]
    processes.wait_for(lambda: database._writes.queued == 0, what="the first write to lead")
    threads.append(_in_thread(other_request))
    processes.wait_for(lambda: database._writes.queued == 1, what="a request's write to queue")
    # The row is due: the writer thread takes its lock and queues its write.
    processes.wait_for(lambda: database._writes.queued == 2, what="the writer thread to queue")
    threads.append(_in_thread(ending_request))
    assert gate_taken.wait(30)
    first_may_end.set()

    deadline = time.monotonic() + 30
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads)
    pending.close()
    assert execution(database, held.row["id"]).status == "success"
