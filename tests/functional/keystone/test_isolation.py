"""Every endpoint, as another project's member and without a valid token."""

from __future__ import annotations

import re

import pytest

from qinling.api import v1
from tests.functional.keystone.conftest import Cloud

HELLO = "def main(**kwargs):\n    return 'hello'\n"
METHODS = ("GET", "POST", "PUT", "DELETE")
PUBLIC = {("/v1/webhooks/{webhook_id}/invoke", "POST")}
ADMIN_ONLY = {
    ("/v1/runtimes", "POST"),
    ("/v1/runtimes/{runtime_id}", "PUT"),
    ("/v1/runtimes/{runtime_id}", "DELETE"),
    ("/v1/runtimes/{runtime_id}/pool", "GET"),
    *((f"{v1.FUNCTION}/{action}", "POST") for action in ("detach", "scale_up", "scale_down")),
    *((f"{v1.VERSION}/{action}", "POST") for action in ("detach", "scale_up", "scale_down")),
    (f"{v1.FUNCTION}/workers", "GET"),
}
BODIES = {
    "/v1/runtimes": {"image": "python3"},
    "/v1/runtimes/{runtime_id}": {"name": "renamed"},
    "/v1/aliases/{name}": {"description": "renamed"},
    "/v1/jobs/{job_id}": {"name": "renamed"},
    "/v1/webhooks/{webhook_id}": {"description": "renamed"},
}


def endpoints() -> list[tuple[str, str]]:
    """(path template, method) of every route, from the API's own route list."""
    found = []
    for path, resource in v1.routes(None):
        found += [(path, m) for m in METHODS if hasattr(resource, f"on_{m.lower()}")]
    return found


@pytest.fixture(scope="module")
def project_a(cloud: Cloud) -> dict[str, str]:
    """One of each resource, owned by alice in project A."""
    token = cloud.token("alice")
    ids = {"runtime_id": cloud.runtime_id, "version": "1", "name": "alias-of-a"}
    ids["function_id"] = cloud.function(token, HELLO)
    fid = ids["function_id"]
    cloud.check(cloud.call("POST", f"/v1/functions/{fid}/versions", token), 201)
    cloud.check(
        cloud.call(
            "POST",
            "/v1/aliases",
            token,
            json={"name": ids["name"], "function_id": fid, "function_version": 1},
        ),
        201,
    )
    execution = cloud.check(
        cloud.call("POST", "/v1/executions", token, json={"function_id": fid}), 201
    )
    ids["execution_id"] = execution["id"]
    job = {"function_id": fid, "pattern": "0 0 1 1 *"}
    ids["job_id"] = cloud.check(cloud.call("POST", "/v1/jobs", token, json=job), 201)["id"]
    hook = cloud.check(cloud.call("POST", "/v1/webhooks", token, json={"function_id": fid}), 201)
    ids["webhook_id"] = hook["id"]
    return ids


def fill(template: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], template)


def request_kwargs(template: str, method: str, ids: dict[str, str]) -> dict:
    """A valid body, so that only identity decides the answer."""
    if method == "PUT" and template == v1.FUNCTION:
        return {"data": {"description": "renamed"}}
    if method == "POST" and template in ("/v1/executions", "/v1/jobs", "/v1/webhooks"):
        extra = {"pattern": "0 0 1 1 *"} if template == "/v1/jobs" else {}
        return {"json": {"function_id": ids["function_id"], **extra}}
    if method == "POST" and template == "/v1/aliases":
        return {"json": {"name": "stolen", "function_id": ids["function_id"]}}
    if template in BODIES and method in ("POST", "PUT"):
        return {"json": BODIES[template]}
    return {}


def expected_for_other_member(template: str, method: str) -> int | None:
    if (template, method) in PUBLIC or (template, method) == ("/v1/functions", "POST"):
        return None  # not about project A's resources
    if (template, method) in ADMIN_ONLY:
        return 403
    if template in ("/v1/runtimes", "/v1/runtimes/{runtime_id}") and method == "GET":
        return 200  # the admin's public runtime
    if "{" not in template and method == "GET":
        return 200  # a list: checked to hold none of A's resources
    return 404


@pytest.mark.parametrize(
    "template,method",
    [e for e in endpoints() if expected_for_other_member(*e) is not None],
    ids=lambda v: v,
)
def test_other_projects_member_cannot_reach_project_a(cloud, project_a, template, method):
    expected = expected_for_other_member(template, method)
    path = fill(template, project_a)
    response = cloud.call(
        method, path, cloud.token("bob"), **request_kwargs(template, method, project_a)
    )
    body = cloud.check(response, expected)
    if expected == 200 and "{" not in template and template != "/v1/runtimes":
        mine = {project_a[k] for k in ("function_id", "execution_id", "job_id", "webhook_id")}
        listed = {row.get("id") for rows in body.values() if isinstance(rows, list) for row in rows}
        assert not mine & listed, body


def test_project_a_is_untouched_and_listing_all_projects_is_for_admins(cloud, project_a):
    alice = cloud.token("alice")
    cloud.check(cloud.call("GET", fill(v1.FUNCTION, project_a), alice), 200)
    cloud.check(cloud.call("GET", f"/v1/jobs/{project_a['job_id']}", alice), 200)
    bob = cloud.token("bob")
    for collection in ("functions", "executions", "jobs", "webhooks", "aliases"):
        refused = cloud.check(cloud.call("GET", f"/v1/{collection}?all_projects=true", bob), 403)
        assert "admin" in refused["faultstring"]
    admin = cloud.token("admin")
    listed = cloud.check(cloud.call("GET", "/v1/functions?all_projects=true", admin), 200)
    assert project_a["function_id"] in {f["id"] for f in listed["functions"]}


@pytest.mark.parametrize("token", [None, "not-a-keystone-token"], ids=["missing", "bad"])
@pytest.mark.parametrize(
    "template,method", [e for e in endpoints() if e not in PUBLIC], ids=lambda v: v
)
def test_no_valid_token_is_401(cloud, project_a, template, method, token):
    response = cloud.call(method, fill(template, project_a), token)
    body = cloud.check(response, 401)
    assert body["faultstring"]
    assert response.headers["WWW-Authenticate"].startswith("Keystone uri=")


def test_public_paths_need_no_token(cloud, project_a):
    for path in ("/", "/v1", "/v1/openapi.json"):
        cloud.check(cloud.call("GET", path, "not-a-keystone-token"), 200)
    invoked = cloud.call("POST", f"/v1/webhooks/{project_a['webhook_id']}/invoke", json={})
    assert cloud.check(invoked, 202)["execution_id"]
