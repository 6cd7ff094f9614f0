"""Cancelling executions, and stopping qinling-server with SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import time

import requests
import sqlalchemy as sa

from tests import processes
from tests.functional import server

SLEEPER = """
import time

def main(seconds=0, **kwargs):
    time.sleep(float(seconds))
    return "slept"
"""


def _output(row: dict):
    return json.loads(row["result"])["output"]


def _worker_names(qinling, function_id: str) -> list[str]:
    workers = requests.get(qinling.url(f"/v1/functions/{function_id}/workers")).json()
    return [w["worker_name"] for w in workers["workers"]]


def _busy_workers(qinling, function_id: str) -> list[str]:
    workers = requests.get(qinling.url(f"/v1/functions/{function_id}/workers")).json()
    return [w["worker_name"] for w in workers["workers"] if w["status"] == "busy"]


def test_delete_cancels_running_and_waiting_executions(tmp_path):
    """DELETE /v1/executions/{id} on running executions, then on a finished one.

    Checks: an execution running on a worker ends ``cancelled`` at once (200,
    the execution in the body) and its worker is killed and gone; one
    waiting for a worker (the function's concurrency is 1) ends ``cancelled``
    and never runs; the function then runs again on a fresh worker; DELETE
    of a finished execution still deletes it (204, then 404), as
    python-qinlingclient's ``function execution delete`` expects.
    """
    qinling = server.start(str(tmp_path))
    try:
        runtime_id = qinling.runtime()
        function_id = qinling.function(runtime_id, SLEEPER, timeout=60, concurrency=1)
        running = qinling.execute(function_id=function_id, sync=False, input={"seconds": 50})
        (worker,) = processes.wait_for(
            lambda: _busy_workers(qinling, function_id), what="the execution to run"
        )
        waiting = qinling.execute(function_id=function_id, sync=False, input={"seconds": 50})

        for execution in (waiting, running):
            response = requests.delete(qinling.url(f"/v1/executions/{execution['id']}"))
            row = qinling.check(response, 200)
            assert row["status"] == "cancelled", row
            assert "cancelled" in _output(row)
        processes.wait_for(
            lambda: worker not in _worker_names(qinling, function_id),
            deadline=10,
            what="the cancelled execution's worker to go",
            details=qinling.details,
        )

        again = qinling.execute(function_id=function_id, input={"seconds": 0})
        assert again["status"] == "success" and again["cold_start"], (again, qinling.details())
        assert qinling.wait_final(waiting["id"])["status"] == "cancelled"

        qinling.check(requests.delete(qinling.url(f"/v1/executions/{again['id']}")), 204)
        qinling.check(requests.get(qinling.url(f"/v1/executions/{again['id']}")), 404)
    finally:
        qinling.service.stop()


def test_sigterm_drains_running_executions_then_stops_the_rest(tmp_path):
    """SIGTERM to qinling-server with quick and slow executions running.

    Checks: the server stops accepting requests at once; executions that
    finish within ``[engine] graceful_shutdown_timeout`` end ``success``;
    those still running at the deadline end ``error`` with a message naming
    the deadline; the process exits soon after the deadline; none is left
    ``running``.
    """
    qinling = server.start(str(tmp_path), engine__graceful_shutdown_timeout=4)
    stopped = False
    try:
        runtime_id = qinling.runtime()
        function_id = qinling.function(runtime_id, SLEEPER, timeout=60)
        quick = [
            qinling.execute(function_id=function_id, sync=False, input={"seconds": 1.5})["id"]
            for _ in range(3)
        ]
        slow = [
            qinling.execute(function_id=function_id, sync=False, input={"seconds": 50})["id"]
            for _ in range(2)
        ]
        processes.wait_for(
            lambda: len(_busy_workers(qinling, function_id)) == 5, what="all five to run"
        )
        signalled = time.monotonic()
        os.killpg(qinling.service.process.pid, signal.SIGTERM)
        processes.wait_for(lambda: _refused(qinling), deadline=10, what="the API to stop accepting")
        qinling.service.process.wait(30)
        stopped = True
        assert time.monotonic() - signalled < 4 + 10, qinling.details()
    finally:
        if not stopped:
            qinling.service.stop()

    engine = sa.create_engine(f"sqlite:///{tmp_path}/qinling.sqlite")
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(sa.text("SELECT id, status, result FROM executions"))}
    engine.dispose()
    for execution_id in quick:
        assert rows[execution_id].status == "success", rows[execution_id]
    for execution_id in slow:
        row = rows[execution_id]
        assert row.status == "error", row
        assert "graceful_shutdown_timeout" in json.loads(row.result)["output"]


def _refused(qinling) -> bool:
    try:
        requests.get(qinling.url("/"), timeout=2)
    except requests.ConnectionError:
        return True
    return False
