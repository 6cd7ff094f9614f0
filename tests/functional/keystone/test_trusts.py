"""Jobs and webhooks run a function as its owner through a trust, after the
owner's token is revoked; the function sees Keystone as its owner, and no
service credential anywhere."""

from __future__ import annotations

import datetime
import json
import os
import re
import subprocess

import pytest

from tests import processes
from tests.functional.keystone import conftest
from tests.functional.keystone.conftest import Cloud

WHOAMI = """\
import json
import os
import urllib.request


def keystone(context, path):
    request = urllib.request.Request(
        context["auth_url"].rstrip("/") + path, headers={"X-Auth-Token": context["token"]}
    )
    with urllib.request.urlopen(request, timeout=20) as answer:
        return json.load(answer)


def main(user_id=None, context=None, **kwargs):
    # Only the user itself (or an admin) may read a user: this proves who we are.
    user = keystone(context, "/users/" + user_id)["user"]
    projects = keystone(context, "/auth/projects")["projects"]
    return {
        "user": user["id"],
        "projects": [p["id"] for p in projects],
        "environ": dict(os.environ),
        "context": context,
    }
"""
FERNET = re.compile(r"gAAAAA[A-Za-z0-9_\-=]{40,}")


def output(row: dict) -> dict:
    assert row["status"] == "success", json.dumps(row)
    result = json.loads(row["result"])["output"]
    return result if isinstance(result, dict) else json.loads(result)


def trusts_of(cloud: Cloud, user: str) -> set[str]:
    listed = cloud.keystone.api("GET", f"/OS-TRUST/trusts?trustor_user_id={cloud.users[user]}")
    return {t["id"] for t in listed.json()["trusts"]}


@pytest.fixture(scope="module")
def runs_after_revocation(cloud: Cloud) -> dict:
    before = trusts_of(cloud, "alice")
    whoami = {"user_id": cloud.users["alice"]}
    token = cloud.token("alice")
    function_id = cloud.function(token, WHOAMI, timeout=30)
    (trust_id,) = trusts_of(cloud, "alice") - before
    hook = cloud.check(
        cloud.call("POST", "/v1/webhooks", token, json={"function_id": function_id}), 201
    )
    start = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=4)
    job = cloud.check(
        cloud.call(
            "POST",
            "/v1/jobs",
            token,
            json={
                "function_id": function_id,
                "first_execution_time": start.isoformat(),
                "function_input": whoami,
            },
        ),
        201,
    )
    cloud.keystone.revoke(token)
    cloud.check(cloud.call("GET", "/v1/functions", token), 401)

    invoked = cloud.check(cloud.call("POST", f"/v1/webhooks/{hook['id']}/invoke", json=whoami), 202)
    reader = cloud.token("alice")
    by_webhook = cloud.wait_final(reader, invoked["execution_id"])

    def job_execution():
        rows = cloud.call("GET", f"/v1/executions?function_id={function_id}", reader).json()
        found = [r for r in rows["executions"] if r["description"] == f"Created by Job {job['id']}"]
        return found[0]["id"] if found else None

    job_run = processes.wait_for(job_execution, deadline=60, what="the job's execution")
    by_job = cloud.wait_final(reader, job_run)
    return {
        "function_id": function_id,
        "trust_id": trust_id,
        "webhook_id": hook["id"],
        "job_id": job["id"],
        "runs": {"webhook": output(by_webhook), "job": output(by_job)},
    }


@pytest.mark.parametrize("trigger", ["webhook", "job"])
def test_runs_as_its_owner_through_the_trust(cloud, runs_after_revocation, trigger):
    seen = runs_after_revocation["runs"][trigger]
    assert seen["user"] == cloud.users["alice"]
    assert seen["projects"] == [cloud.projects["project-a"]]
    token = seen["context"]["token"]
    validated = cloud.keystone.api("GET", "/auth/tokens", headers={"X-Subject-Token": token})
    assert validated.json()["token"]["OS-TRUST:trust"]["id"] == runs_after_revocation["trust_id"]


@pytest.mark.parametrize("trigger", ["webhook", "job"])
def test_no_service_credentials_reach_the_function(cloud, runs_after_revocation, trigger):
    seen = runs_after_revocation["runs"][trigger]
    dump = json.dumps({"environ": seen["environ"], "context": seen["context"]})
    assert conftest.SERVICE_PASSWORD not in dump
    assert conftest.PASSWORDS["admin"] not in dump
    assert set(seen["context"]) >= {"token", "auth_url"}
    # Every token in sight is the owner's, through the trust; none is the service user's.
    for token in set(FERNET.findall(dump)):
        answer = cloud.keystone.api("GET", "/auth/tokens", headers={"X-Subject-Token": token})
        body = answer.json()["token"]
        assert body["user"]["id"] == cloud.users["alice"]
        assert body["OS-TRUST:trust"]["id"] == runs_after_revocation["trust_id"]


def test_deleting_the_function_deletes_its_trust(cloud, runs_after_revocation):
    token = cloud.token("alice")
    for path in (
        f"/v1/jobs/{runs_after_revocation['job_id']}",
        f"/v1/webhooks/{runs_after_revocation['webhook_id']}",
        f"/v1/functions/{runs_after_revocation['function_id']}",
    ):
        cloud.check(cloud.call("DELETE", path, token), 204)
    assert runs_after_revocation["trust_id"] not in trusts_of(cloud, "alice")


def test_openstack_cli_with_real_credentials(cloud):
    function_id = cloud.function(cloud.token("alice"), "def main(**kw):\n    return 1\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    command = [
        os.path.join(processes.BIN, "openstack"),
        "--os-auth-url",
        cloud.keystone.auth_url,
        "--os-username",
        "alice",
        "--os-password",
        conftest.PASSWORDS["alice"],
        "--os-project-name",
        "project-a",
        "--os-user-domain-name",
        "Default",
        "--os-project-domain-name",
        "Default",
        "--os-identity-api-version",
        "3",
    ]
    listed = subprocess.run(
        [*command, "function", "list", "-f", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert function_id in {row["Id"] for row in json.loads(listed.stdout)}
    as_bob = subprocess.run(
        [
            *command[:4],
            "bob",
            *command[5:6],
            conftest.PASSWORDS["bob"],
            *command[7:8],
            "project-b",
            *command[9:],
            "function",
            "show",
            function_id,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert as_bob.returncode != 0 and "not found" in as_bob.stderr.lower(), as_bob.stderr
