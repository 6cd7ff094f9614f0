"""An engine killed with SIGKILL: no accepted execution is lost or stuck."""

from __future__ import annotations

import threading
import time
from concurrent import futures

import requests

from tests import processes
from tests.functional.faults.conftest import output

SLEEPER = """
import time

def main(seconds=0.5, **kwargs):
    time.sleep(float(seconds))
    return "slept"
"""


def _post_async(deployment, function_id: str, count: int) -> set[str]:
    def post(_):
        response = requests.post(
            deployment.url("/v1/executions"),
            json={"function_id": function_id, "sync": False, "input": {"seconds": 0.5}},
        )
        return deployment.check(response, 201)["id"]

    with futures.ThreadPoolExecutor(8) as pool:
        return set(pool.map(post, range(count)))


def test_kill_9_of_an_engine_loses_no_execution(deployment):
    """200 async executions; engine-1 is SIGKILLed while it runs some and holds
    others in its queue; engine-2 stays up.

    Checks: every one of the 200 reaches a final state (0 lost, 0 stuck
    ``running``); those engine-1 had started end ``error`` with a message
    naming it (not re-run: the function may have had effects); every other
    one, including those engine-1 had taken but not started, ends ``success``.
    """
    deployment.start_engine("engine-1")
    deployment.start_engine("engine-2")
    runtime_id = deployment.runtime()
    function_id = deployment.function(runtime_id, SLEEPER, timeout=5)

    ids = _post_async(deployment, function_id, 200)
    processes.wait_for(
        lambda: sum(r["status"] == "success" for r in deployment.executions(ids).values()) >= 20,
        what="the first executions to end",
        details=deployment.details,
    )
    processes.wait_for(
        lambda: deployment.started_on("engine-1") > 0,
        what="engine-1 to be running executions",
        details=deployment.details,
    )
    deployment.kill_engine("engine-1")

    rows = deployment.wait_all_final(ids, deadline=90)
    errors = [r for r in rows.values() if r["status"] == "error"]
    assert errors, "engine-1 was running executions when it was killed"
    for row in errors:
        assert "engine-1" in output(row) and "stopped before it finished" in output(row), row
    others = {r["status"] for r in rows.values() if r["status"] != "error"}
    # A string: pytest cuts the repr of any other message to a line.
    unexpected = "\n".join(
        f"{r['id']} {r['status']}: {output(r)}" for r in rows.values() if r["status"] != "success"
    )
    assert others == {"success"}, unexpected


def test_a_sync_caller_of_a_killed_engine_gets_503_not_a_hang(deployment):
    """A sync execution whose only engine is SIGKILLed mid-run.

    Checks: the caller gets 503 with a message within the function's timeout
    plus ``[api] sync_execution_margin`` (and a few seconds of slack), and
    when the engine comes back it ends the execution ``error`` at once,
    saying that its engine restarted.
    """
    deployment.start_engine("engine-1")
    runtime_id = deployment.runtime()
    function_id = deployment.function(runtime_id, SLEEPER, timeout=10)
    answer: dict = {}

    def call() -> None:
        started = time.monotonic()
        answer["response"] = requests.post(
            deployment.url("/v1/executions"),
            json={"function_id": function_id, "input": {"seconds": 60}},
            timeout=120,
        )
        answer["elapsed"] = time.monotonic() - started

    caller = threading.Thread(target=call)
    caller.start()
    workers = deployment.url(f"/v1/functions/{function_id}/workers")
    processes.wait_for(
        lambda: any(w["status"] == "busy" for w in requests.get(workers).json()["workers"]),
        what="the function to run",
        details=deployment.details,
    )
    # Written by its engine once it ran past [api] sync_execution_write_after;
    # one killed before is recorded by qinling-api (tests/unit/engine/test_remote_run.py).
    listed = deployment.url("/v1/executions")
    processes.wait_for(
        lambda: requests.get(listed, params={"function_id": function_id}).json()["executions"],
        what="the execution to be written as running",
        details=deployment.details,
    )
    deployment.kill_engine("engine-1")
    caller.join(60)

    response = answer["response"]
    assert response.status_code == 503, response.text + deployment.details()
    assert "engine" in response.json()["faultstring"].lower()
    assert "is recorded: GET /v1/executions/" in response.json()["faultstring"]
    assert answer["elapsed"] < 10 + 3 + 5, answer["elapsed"]
    execution_ids = {
        r["id"]
        for r in requests.get(
            deployment.url("/v1/executions"), params={"function_id": function_id}
        ).json()["executions"]
    }
    deployment.start_engine("engine-1")
    (row,) = deployment.wait_all_final(execution_ids, deadline=30).values()
    assert row["status"] == "error"
    assert "restarted before it finished" in output(row), row
