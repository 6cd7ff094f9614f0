"""The engine's execution path with the fake orchestrator."""

from __future__ import annotations

import json

from tests.unit.db import rows
from tests.unit.engine.support import execution, make_function, package


def test_an_execution_runs_once_even_when_delivered_twice(database, manager):
    engine, orchestrator, _ = manager
    function_id = make_function(database, manager, "def main(**kw):\n    return 42\n")
    with database.transaction() as session:
        row = rows.execution(function_id)
        session.add(row)
        session.flush()
        execution_id = row.id

    engine.create_execution(None, execution_id=execution_id)
    engine.create_execution(None, execution_id=execution_id)

    assert orchestrator.runs == [execution_id]
    done = execution(database, execution_id)
    assert done.status == "success"
    assert json.loads(done.result)["output"] == 42
    assert done.engine_host and done.started_at and done.finished_at


def test_a_function_error_fails_and_a_missing_function_errors(database, manager):
    engine, _, _ = manager
    function_id = make_function(database, manager, "def main(**kw):\n    raise ValueError('no')\n")
    with database.transaction() as session:
        failing = rows.execution(function_id)
        orphan = rows.execution("gone")
        session.add_all([failing, orphan])
        session.flush()
        ids = failing.id, orphan.id

    for execution_id in ids:
        engine.create_execution(None, execution_id=execution_id)

    failed, errored = (execution(database, i) for i in ids)
    assert failed.status == "failed"
    assert "ValueError: no" in json.loads(failed.result)["output"]
    assert errored.status == "error"
    assert "deleted" in json.loads(errored.result)["output"]


def test_an_engine_that_missed_the_runtime_prepares_its_pool_on_first_use(database, manager):
    """Runtime creation reaches the engines by a fanout cast; one started later
    (or that missed the cast) still runs the function."""
    engine, orchestrator, store = manager
    stored = store.store([package("def main(**kw):\n    return 'here'\n")], max_size=1 << 20)
    with database.transaction() as session:
        runtime = rows.runtime()
        session.add(runtime)
        session.flush()
        function = rows.function(runtime_id=runtime.id, package_digest=stored.digest)
        session.add(function)
        session.flush()
        row = rows.execution(function.id)
        session.add(row)
        session.flush()
        execution_id = row.id

    engine.create_execution(None, execution_id=execution_id)

    done = execution(database, execution_id)
    assert (done.status, json.loads(done.result)["output"]) == ("success", "here")
