"""Keystone, two tenants and a qinling-server with ``auth_strategy = keystone``.

Session fixtures, always stopped and removed:

- ``keystone``: a real Keystone (see ``keystone.py``) with projects
  ``project-a`` and ``project-b``, a member in each (``alice``, ``bob``), the
  bootstrap ``admin``, and the ``qinling`` service user (role ``service`` in
  project ``service``).
- ``qinling``: ``qinling-server`` validating tokens against it, registered in
  the catalog as ``function-engine``, with a ``python3`` runtime made by the
  admin. Orchestrator from ``QINLING_TEST_ORCHESTRATOR`` (default ``local``,
  with egress so that functions reach Keystone).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from collections.abc import Iterator

import pytest
import requests

from tests import processes
from tests.functional import server as qserver
from tests.functional.keystone import keystone as ks

SERVICE_PASSWORD = "qinling-service-Pw-7f3a"
PASSWORDS = {"alice": "alice-Pw-1", "bob": "bob-Pw-2", "admin": ks.ADMIN_PASSWORD}
PROJECTS = {"alice": "project-a", "bob": "project-b", "admin": "admin"}


@dataclasses.dataclass
class Cloud:
    keystone: ks.Keystone
    server: qserver.Server
    users: dict[str, str]
    projects: dict[str, str]
    runtime_id: str = ""

    def token(self, user: str) -> str:
        return self.keystone.token(user, PASSWORDS[user], PROJECTS[user])

    def headers(self, user: str) -> dict[str, str]:
        return {"X-Auth-Token": self.token(user)}

    def call(self, method: str, path: str, token: str | None = None, **kwargs):
        headers = kwargs.pop("headers", {}) | ({"X-Auth-Token": token} if token else {})
        return requests.request(method, self.server.url(path), headers=headers, **kwargs)

    def check(self, response: requests.Response, status: int) -> dict:
        return self.server.check(response, status)

    def function(self, token: str, source: str, **fields) -> str:
        data = {
            "runtime_id": self.runtime_id,
            "entry": "main.main",
            "code": json.dumps({"source": "package"}),
        } | fields
        response = self.call(
            "POST",
            "/v1/functions",
            token,
            data=data,
            files={"package": ("f.zip", qserver.zip_source({"main.py": source}))},
        )
        return self.check(response, 201)["id"]

    def wait_final(self, token: str, execution_id: str, deadline: float = 60) -> dict:
        def final():
            row = self.call("GET", f"/v1/executions/{execution_id}", token).json()
            return row if row["status"] != "running" else None

        return processes.wait_for(
            final, deadline=deadline, what=f"execution {execution_id}", details=self.details
        )

    def details(self) -> str:
        return self.server.details() + "\nKeystone log (tail):\n" + self.keystone.log()[-3000:]


@pytest.fixture(scope="session")
def keystone() -> Iterator[ks.Keystone]:
    with ks.running() as running:
        yield running


@pytest.fixture(scope="session")
def cloud(keystone: ks.Keystone) -> Iterator[Cloud]:
    projects = {name: keystone.project(name) for name in ("project-a", "project-b", "service")}
    users = {
        "alice": keystone.user("alice", PASSWORDS["alice"], projects["project-a"], "member"),
        "bob": keystone.user("bob", PASSWORDS["bob"], projects["project-b"], "member"),
        "qinling": keystone.user("qinling", SERVICE_PASSWORD, projects["service"], "service"),
    }
    tmp = tempfile.mkdtemp(prefix="qinling-keystone-test-")
    server = None
    try:
        server = qserver.start(tmp, **server_options(keystone))
        keystone.register("function-engine", "qinling", server.base)
        cloud = Cloud(keystone, server, users, projects)
        cloud.runtime_id = _runtime(cloud)
        yield cloud
    finally:
        if server is not None:
            server.service.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def server_options(keystone: ks.Keystone) -> dict[str, object]:
    auth = {
        "www_authenticate_uri": keystone.auth_url,
        "auth_url": keystone.auth_url,
        "auth_type": "password",
        "username": "qinling",
        "password": SERVICE_PASSWORD,
        "project_name": "service",
        "user_domain_name": "Default",
        "project_domain_name": "Default",
        # A revoked token must be refused at once, not after a cache period.
        "token_cache_time": -1,
    }
    return {
        "DEFAULT__auth_strategy": "keystone",
        "sandbox__allow_egress": "true",
        **{f"keystone_authtoken__{name}": value for name, value in auth.items()},
    }


def _runtime(cloud: Cloud) -> str:
    admin = cloud.token("admin")
    created = cloud.check(
        cloud.call("POST", "/v1/runtimes", admin, json={"image": "python3", "is_public": True}),
        201,
    )

    def available():
        row = cloud.call("GET", f"/v1/runtimes/{created['id']}", admin).json()
        return created["id"] if row["status"] == "available" else None

    return processes.wait_for(
        available, deadline=120, what="runtime available", details=cloud.details
    )
