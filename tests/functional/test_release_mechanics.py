"""Versions, aliases, cron jobs and webhooks on a running qinling-server."""

from __future__ import annotations

import datetime
import json
import subprocess

import pytest
import requests

from qinling.api.v1.webhooks import signature
from tests import processes
from tests.functional import server as qserver

V1 = 'def main(**kwargs):\n    return "v1"\n'
V2 = 'def main(**kwargs):\n    return "v2"\n'
ECHO = "def main(context, **kwargs):\n    return kwargs\n"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = qserver.start(str(tmp_path_factory.mktemp("release")))
    yield running
    running.service.stop()


@pytest.fixture(scope="module")
def runtime_id(server) -> str:
    return server.runtime()


def output(execution: dict):
    return json.loads(execution["result"])["output"]


def test_a_version_keeps_serving_its_code_after_an_update(server, runtime_id):
    function_id = server.function(runtime_id, V1)
    version = server.check(
        requests.post(
            server.url(f"/v1/functions/{function_id}/versions"), json={"description": "first"}
        ),
        201,
    )
    assert version["version_number"] == 1

    server.update_code(function_id, V2)

    assert output(server.execute(function_id=function_id)) == "v2"
    assert output(server.execute(function_id=function_id, function_version=1)) == "v1"
    again = requests.post(server.url(f"/v1/functions/{function_id}/versions"), json={})
    assert server.check(again, 201)["version_number"] == 2
    unchanged = requests.post(server.url(f"/v1/functions/{function_id}/versions"), json={})
    assert unchanged.status_code == 409
    assert "Nothing changed" in unchanged.json()["faultstring"]


def test_alias_weights_split_executions(server, runtime_id):
    function_id = server.function(runtime_id, V1)
    server.check(requests.post(server.url(f"/v1/functions/{function_id}/versions")), 201)
    server.update_code(function_id, V2)
    server.check(requests.post(server.url(f"/v1/functions/{function_id}/versions")), 201)
    server.check(
        requests.post(
            server.url("/v1/aliases"),
            json={
                "name": "canary",
                "function_id": function_id,
                "function_version": 1,
                "additional_version": 2,
                "additional_weight": 20,
            },
        ),
        201,
    )

    runs = 300
    outputs = [output(server.execute(function_alias="canary")) for _ in range(runs)]

    share = outputs.count("v2") / runs
    # 20% expected; with 300 runs the standard deviation is ~2.3 points.
    assert 0.10 <= share <= 0.30, f"v2 served {share:.0%} of executions, expected ~20%"
    listed = requests.get(
        server.url("/v1/executions"), params={"function_alias": "canary", "function_version": 2}
    ).json()
    assert len(listed["executions"]) == outputs.count("v2")


def test_one_shot_job_fires_and_finishes(server, runtime_id):
    function_id = server.function(runtime_id, ECHO)
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=2)
    job = server.check(
        requests.post(
            server.url("/v1/jobs"),
            json={
                "function_id": function_id,
                "first_execution_time": soon.isoformat(),
                "function_input": '{"from": "job"}',
            },
        ),
        201,
    )

    def fired():
        rows = requests.get(
            server.url("/v1/executions"), params={"function_id": function_id}
        ).json()["executions"]
        return rows[0] if rows else None

    execution = processes.wait_for(fired, what="the job's execution", details=server.details)
    assert execution["description"] == f"Created by Job {job['id']}"
    assert output(server.wait_final(execution["id"])) == {"from": "job"}
    assert requests.get(server.url(f"/v1/jobs/{job['id']}")).json()["status"] == "done"


def test_job_pause_resume_cancel(server, runtime_id):
    function_id = server.function(runtime_id, ECHO)
    job = server.check(
        requests.post(
            server.url("/v1/jobs"), json={"function_id": function_id, "pattern": "0 0 1 1 *"}
        ),
        201,
    )
    url = server.url(f"/v1/jobs/{job['id']}")

    assert server.check(requests.put(url, json={"status": "paused"}), 200)["status"] == "paused"
    assert server.check(requests.put(url, json={"status": "running"}), 200)["status"] == "running"
    assert (
        server.check(requests.put(url, json={"status": "cancelled"}), 200)["status"] == "cancelled"
    )
    final = requests.put(url, json={"status": "running"})
    assert final.status_code == 409
    assert "cancelled" in final.json()["faultstring"]


def test_webhook_invoked_with_curl_runs_the_function(server, runtime_id):
    function_id = server.function(runtime_id, ECHO)
    hook = server.check(
        requests.post(server.url("/v1/webhooks"), json={"function_id": function_id}), 201
    )

    curl = subprocess.run(
        [
            "curl",
            "-s",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "-d",
            '{"city": "Xi\'an"}',
            hook["webhook_url"] + "?units=metric",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    accepted = json.loads(curl.stdout)
    execution = server.wait_final(accepted["execution_id"])
    assert execution["status"] == "success", execution
    assert output(execution) == {"city": "Xi'an", "units": "metric"}


def test_signed_webhook_refuses_a_bad_signature(server, runtime_id):
    function_id = server.function(runtime_id, ECHO)
    secret = "a-long-enough-shared-secret"
    hook = server.check(
        requests.post(
            server.url("/v1/webhooks"), json={"function_id": function_id, "secret": secret}
        ),
        201,
    )
    payload = b'{"signed": true}'

    forged = requests.post(
        hook["webhook_url"],
        data=payload,
        headers={"X-Qinling-Signature": signature("wrong-secret", payload)},
    )
    missing = requests.post(hook["webhook_url"], data=payload)
    good = requests.post(
        hook["webhook_url"],
        data=payload,
        headers={"X-Qinling-Signature": signature(secret, payload)},
    )

    assert (forged.status_code, missing.status_code) == (401, 401)
    assert "X-Qinling-Signature" in forged.json()["faultstring"]
    accepted = server.check(good, 202)
    assert output(server.wait_final(accepted["execution_id"])) == {"signed": True}


def test_a_version_in_use_cannot_be_deleted(server, runtime_id):
    function_id = server.function(runtime_id, V1)
    server.check(requests.post(server.url(f"/v1/functions/{function_id}/versions")), 201)
    server.check(
        requests.post(
            server.url("/v1/aliases"),
            json={"name": "pinned", "function_id": function_id, "function_version": 1},
        ),
        201,
    )

    refused = requests.delete(server.url(f"/v1/functions/{function_id}/versions/1"))
    assert refused.status_code == 409
    assert "alias" in refused.json()["faultstring"]
    server.check(requests.delete(server.url("/v1/aliases/pinned")), 204)
    server.check(requests.delete(server.url(f"/v1/functions/{function_id}/versions/1")), 204)
