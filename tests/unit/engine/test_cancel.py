"""Cancelling executions: the engine's half and the fake driver's."""

from __future__ import annotations

import json
import threading

import falcon.testing
import pytest

from qinling.db import models
from qinling.orchestrator import base
from tests import processes
from tests.unit.api.conftest import P1, Api, _new_stack
from tests.unit.db import rows
from tests.unit.engine.support import execution, make_function

SLEEPER = "import time\n\ndef main(seconds=0, **kw):\n    time.sleep(seconds)\n    return 'slept'\n"


def add_execution(database, function_id: str, **values) -> str:
    with database.transaction() as session:
        row = rows.execution(function_id, **values)
        session.add(row)
        session.flush()
        return row.id


def output(row) -> str:
    return json.loads(row.result)["output"]


def test_cancel_ends_a_running_execution_and_stops_its_run(database, manager):
    engine, orchestrator, _ = manager
    function_id = make_function(database, manager, SLEEPER)
    execution_id = add_execution(database, function_id, input='{"seconds": 30}')
    outcome = {}
    runner = threading.Thread(
        target=lambda: outcome.update(ended=engine.create_execution(None, execution_id))
    )
    runner.start()
    processes.wait_for(lambda: orchestrator.runs, what="the run to start")

    assert engine.cancel_execution(None, execution_id) is True
    runner.join(5)

    assert not runner.is_alive(), "the run did not stop"
    assert outcome["ended"] is None, "the run must not overwrite the cancel"
    row = execution(database, execution_id)
    assert row.status == "cancelled" and "cancelled" in output(row)
    assert engine.cancel_execution(None, execution_id) is False


def test_a_cancel_between_its_claim_and_its_run_keeps_the_function_from_running(
    database, manager, tmp_path
):
    """The engine has claimed the execution (it is this engine's) but not
    yet handed it to its driver when the cancel comes: the run that follows
    ends at once, the function never called."""
    engine, _, _ = manager
    marker = tmp_path / "ran"
    source = "def main(path, **kw):\n    open(path, 'w').close()\n"
    function_id = make_function(database, manager, source)
    execution_id = add_execution(database, function_id, input=json.dumps({"path": str(marker)}))
    spec, request = engine.loader.claim_and_load(execution_id)

    assert engine.cancel_execution(None, execution_id) is True
    assert engine.run_claimed(None, spec, request) is None  # the cancel stays recorded

    assert not marker.exists(), "the cancelled function ran"
    row = execution(database, execution_id)
    assert row.status == "cancelled" and "cancelled" in output(row)


def test_cancel_of_an_ended_execution_changes_nothing(database, manager):
    engine, _, _ = manager
    function_id = make_function(database, manager, SLEEPER)
    execution_id = add_execution(database, function_id)
    engine.create_execution(None, execution_id)

    assert engine.cancel_execution(None, execution_id) is False
    assert execution(database, execution_id).status == "success"


def test_the_fake_driver_knows_only_what_it_runs():
    from qinling.orchestrator.fake import FakeOrchestrator

    driver = FakeOrchestrator()
    try:
        assert driver.cancel_execution("never-seen") is False
    finally:
        driver.stop()
    assert base.CANCELLED_OUTPUT == "Execution cancelled."


@pytest.fixture
def stack(tmp_path):
    """An in-process Qinling (fake driver, SQLite), its test client and a function of p1."""
    parts, conf = _new_stack(str(tmp_path))
    api = Api(falcon.testing.TestClient(parts.app), conf)
    runtime = api.create_runtime(name="python3")
    function = api.create_function(runtime["id"], name="hello", headers=P1)
    yield parts.engine, api, function["id"]
    parts.close()


def add_row(engine, function_id: str, **values) -> str:
    with engine.db.transaction() as session:
        row = rows.execution(function_id, project_id="p1", **values)
        session.add(row)
        session.flush()
        return row.id


def test_delete_cancels_an_execution_no_engine_has_started(stack):
    engine, api, function_id = stack
    execution_id = add_row(engine, function_id)

    response = api.delete(f"/v1/executions/{execution_id}", headers=P1)

    assert response.status_code == 200, response.text
    assert response.json["status"] == "cancelled"
    assert engine.manager.create_execution(None, execution_id) is None, "claimed after cancel"
    with engine.db.transaction() as session:
        assert session.get(models.Execution, execution_id).started_at is None


@pytest.mark.parametrize("status", ["success", "failed", "error", "cancelled"])
def test_delete_removes_a_finished_execution(stack, status):
    engine, api, function_id = stack
    execution_id = add_row(engine, function_id, status=status)

    assert api.delete(f"/v1/executions/{execution_id}", headers=P1).status_code == 204
    assert api.get(f"/v1/executions/{execution_id}", headers=P1).status_code == 404
