"""Graceful shutdown: drain what runs, leave what has not started, end the rest."""

from __future__ import annotations

import json

import falcon.testing

from qinling import bootstrap
from qinling import conf as qconf
from qinling.db import models
from qinling.engine.service import Gate
from tests import processes
from tests.unit.api.conftest import P1, Api, make_zip
from tests.unit.db import rows
from tests.unit.engine.support import execution, make_function

SLEEPER = "import time\n\ndef main(seconds=0, **kw):\n    time.sleep(seconds)\n    return 'slept'\n"


def test_a_closed_gate_leaves_executions_unclaimed_for_the_reaper(database, manager):
    engine, orchestrator, _ = manager
    function_id = make_function(database, manager, SLEEPER)
    with database.transaction() as session:
        row = rows.execution(function_id)
        session.add(row)
        session.flush()
        execution_id = row.id
    gate = Gate(engine)
    gate.close()

    assert gate.create_execution(None, execution_id) is None
    assert orchestrator.runs == []
    left = execution(database, execution_id)
    assert left.status == "running" and left.started_at is None
    assert gate.wait_idle(0) == 0


def test_stop_drains_running_executions_and_ends_the_overdue_in_error(tmp_path):
    conf = qconf.new_config([])
    conf.set_override("state_dir", str(tmp_path))
    conf.set_override("orchestrator", "fake", group="engine")
    conf.set_override("graceful_shutdown_timeout", 3, group="engine")
    parts = bootstrap.all_in_one(conf)
    api = Api(falcon.testing.TestClient(parts.app), conf)
    runtime = api.create_runtime(name="python3")
    function = api.create_function(
        runtime["id"], name="sleeper", headers=P1, package=make_zip({"main.py": SLEEPER})
    )
    quick = api.execute(function["id"], headers=P1, sync=False, input='{"seconds": 0.2}')
    slow = api.execute(function["id"], headers=P1, sync=False, input='{"seconds": 30}')
    processes.wait_for(
        lambda: len(parts.engine.orchestrator.list_workers(function["id"])) == 2,
        what="both executions to run",
    )

    parts.close()

    with parts.engine.db.transaction() as session:
        ended = {i: session.get(models.Execution, i) for i in (quick["id"], slow["id"])}
    assert ended[quick["id"]].status == "success", ended[quick["id"]].result
    assert ended[slow["id"]].status == "error"
    message = json.loads(ended[slow["id"]].result)["output"]
    assert "graceful_shutdown_timeout" in message and "3 s" in message
