"""Sync executions held until they end (``engine.pending``): those that end in
time are written once, as ended, and the writer thread lets them go."""

from __future__ import annotations

import pytest

from qinling.db import executions as db_executions
from qinling.engine.pending import PendingExecutions
from qinling.orchestrator import base
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
