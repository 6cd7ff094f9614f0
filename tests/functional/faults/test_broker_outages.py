"""RabbitMQ and PostgreSQL stopped and started under a running deployment."""

from __future__ import annotations

import time
from concurrent import futures

import requests

from tests import processes
from tests.functional.faults.conftest import FINAL, output

QUICK = """
import time

def main(**kwargs):
    time.sleep(0.2)
    return "done"
"""


def _post(deployment, function_id: str, count: int) -> list[requests.Response]:
    def post(_):
        return requests.post(
            deployment.url("/v1/executions"),
            json={"function_id": function_id, "sync": False},
            timeout=60,
        )

    with futures.ThreadPoolExecutor(8) as pool:
        return list(pool.map(post, range(count)))


def _accepted(deployment, responses: list[requests.Response]) -> set[str]:
    for response in responses:
        assert response.status_code in (201, 503), response.text + deployment.details()
    return {r.json()["id"] for r in responses if r.status_code == 201}


def test_rabbitmq_restart_loses_no_accepted_execution(deployment, rabbitmq):
    """Async executions posted before, during and after a RabbitMQ stop/start.

    Checks: each POST answers 201 or 503 and none hangs; every execution
    answered 201 reaches ``success``, including those whose RPC message died
    with the broker or could not be sent at all (the reaper runs them after
    ``[engine] pickup_timeout``); afterwards the API and the engine talk
    again without being restarted (a sync execution succeeds).
    """
    deployment.start_engine("engine-1")
    runtime_id = deployment.runtime()
    function_id = deployment.function(runtime_id, QUICK, timeout=5)

    accepted = _accepted(deployment, _post(deployment, function_id, 30))
    rabbitmq.stop()
    try:
        started = time.monotonic()
        during = _post(deployment, function_id, 8)
        assert time.monotonic() - started < 45, "requests hung while RabbitMQ was down"
        accepted |= _accepted(deployment, during)
    finally:
        rabbitmq.start()
    accepted |= _accepted(deployment, _post(deployment, function_id, 30))

    rows = deployment.wait_all_final(accepted, deadline=60)
    assert {r["status"] for r in rows.values()} == {"success"}, rows
    assert len(accepted) >= 60

    def sync_works():
        response = requests.post(
            deployment.url("/v1/executions"), json={"function_id": function_id}, timeout=30
        )
        return response.status_code == 201 and response.json()["status"] == "success"

    processes.wait_for(
        sync_works,
        deadline=60,
        what="a sync execution after the restart",
        details=deployment.details,
    )


def test_postgresql_restart_answers_503_then_recovers(deployment, postgres):
    """PostgreSQL stopped (fast shutdown) while executions run, then started.

    Checks: while it is down the API answers 503 with a message naming the
    database (reads and new executions alike); once it is back the same API
    and engine processes serve again without a restart; every execution
    accepted before or after the outage reaches a final state with a
    recorded result (none stays ``running``, none is half-written); those
    the outage did not touch end ``success``.
    """
    deployment.start_engine("engine-1")
    runtime_id = deployment.runtime()
    function_id = deployment.function(runtime_id, QUICK, timeout=3)

    accepted = _accepted(deployment, _post(deployment, function_id, 30))
    postgres.stop()
    try:
        for response in (
            requests.get(deployment.url("/v1/functions"), timeout=30),
            requests.post(
                deployment.url("/v1/executions"),
                json={"function_id": function_id, "sync": False},
                timeout=30,
            ),
        ):
            assert response.status_code == 503, response.text + deployment.details()
            assert "database" in response.json()["faultstring"].lower()
    finally:
        postgres.start()

    processes.wait_for(
        lambda: requests.get(deployment.url("/v1/functions"), timeout=30).status_code == 200,
        deadline=30,
        what="the API to reach the database again",
        details=deployment.details,
    )
    later = _accepted(deployment, _post(deployment, function_id, 20))
    assert len(later) == 20

    rows = deployment.wait_all_final(accepted | later, deadline=60)
    for row in rows.values():
        assert row["status"] in FINAL and row["result"], row
        if row["status"] != "success":
            assert row["status"] == "error" and output(row), row
    assert all(rows[i]["status"] == "success" for i in later), [rows[i] for i in later]
