"""Projects see only their own resources; some operations are for admins only."""

from __future__ import annotations

import pytest

from tests.unit.api.conftest import P1, P1_ADMIN, P2


@pytest.fixture
def p1_world(api, function):
    """One of each resource, owned by project p1."""
    fid = function["id"]
    version = api.post(f"/v1/functions/{fid}/versions", headers=P1)
    alias = api.post("/v1/aliases", json={"name": "live", "function_id": fid}, headers=P1)
    execution = api.post("/v1/executions", json={"function_id": fid}, headers=P1)
    job = api.post("/v1/jobs", json={"function_id": fid, "pattern": "0 * * * *"}, headers=P1)
    webhook = api.post("/v1/webhooks", json={"function_id": fid}, headers=P1)
    for created in (version, alias, execution, job, webhook):
        assert created.status_code == 201, created.text
    return {
        "function": f"/v1/functions/{fid}",
        "version": f"/v1/functions/{fid}/versions/1",
        "alias": "/v1/aliases/live",
        "execution": f"/v1/executions/{execution.json['id']}",
        "job": f"/v1/jobs/{job.json['id']}",
        "webhook": f"/v1/webhooks/{webhook.json['id']}",
    }


def _p1_paths(world: dict) -> list[tuple[str, str]]:
    """(method, path) of every operation on a p1 resource."""
    return [
        ("GET", world["function"]),
        ("GET", world["function"] + "?download=true"),
        ("PUT", world["function"]),
        ("DELETE", world["function"]),
        ("GET", world["function"] + "/versions"),
        ("POST", world["function"] + "/versions"),
        ("GET", world["version"]),
        ("DELETE", world["version"]),
        ("GET", world["alias"]),
        ("PUT", world["alias"]),
        ("DELETE", world["alias"]),
        ("GET", world["execution"]),
        ("GET", world["execution"] + "/log"),
        ("DELETE", world["execution"]),
        ("GET", world["job"]),
        ("PUT", world["job"]),
        ("DELETE", world["job"]),
        ("GET", world["webhook"]),
        ("PUT", world["webhook"]),
        ("DELETE", world["webhook"]),
    ]


def test_other_project_gets_not_found_for_everything(api, p1_world):
    for method, path in _p1_paths(p1_world):
        path, _, query = path.partition("?")
        answer = api.request(method, path, query_string=query, json={}, headers=P2)

        assert answer.status_code == 404, (method, path, answer.text)
        fault = answer.json["faultstring"]
        assert fault.endswith("not found.") or "no version" in fault
    assert api.get(p1_world["function"], headers=P1).status_code == 200


def test_other_project_cannot_run_or_reference_p1_functions(api, p1_world, function):
    fid = function["id"]
    for path, body in (
        ("/v1/executions", {"function_id": fid}),
        ("/v1/executions", {"function_alias": "live"}),
        ("/v1/aliases", {"name": "mine", "function_id": fid}),
        ("/v1/jobs", {"function_id": fid, "pattern": "0 * * * *"}),
        ("/v1/webhooks", {"function_id": fid}),
    ):
        refused = api.post(path, json=body, headers=P2)

        assert refused.status_code == 404, (path, body, refused.text)


@pytest.mark.parametrize(
    "collection",
    ["functions", "executions", "jobs", "webhooks", "aliases"],
)
def test_lists_are_scoped_to_the_project(api, p1_world, collection):
    envelope = "function_aliases" if collection == "aliases" else collection

    mine = api.get(f"/v1/{collection}", headers=P1).json[envelope]
    theirs = api.get(f"/v1/{collection}", headers=P2).json[envelope]
    everyone = api.get(f"/v1/{collection}", params={"all_projects": "true"}).json[envelope]
    by_project = api.get(f"/v1/{collection}", params={"project_id": "p1"}).json[envelope]
    own_default = api.get(f"/v1/{collection}").json[envelope]

    assert len(mine) == 1
    assert theirs == []
    assert everyone == mine == by_project
    assert own_default == []


@pytest.mark.parametrize("query", [{"all_projects": "true"}, {"project_id": "p2"}])
def test_member_may_not_list_other_projects(api, query):
    refused = api.get("/v1/functions", params=query, headers=P1)

    assert refused.status_code == 403
    assert "Only admins" in refused.json["faultstring"]


def test_member_may_name_its_own_project(api, function):
    listed = api.get("/v1/functions", params={"project_id": "p1"}, headers=P1)

    assert listed.status_code == 200
    assert [f["id"] for f in listed.json["functions"]] == [function["id"]]


def test_project_admin_is_an_admin(api, function):
    listed = api.get("/v1/functions", params={"all_projects": "1"}, headers=P1_ADMIN)

    assert [f["id"] for f in listed.json["functions"]] == [function["id"]]


def test_admin_reaches_any_row_by_id(api, p1_world):
    assert api.get(p1_world["function"]).status_code == 200
    assert api.get(p1_world["execution"], headers=P1_ADMIN).status_code == 200


def test_admin_only_operations_are_forbidden_to_members(api, runtime, function):
    rid, fid = runtime["id"], function["id"]
    api.post(f"/v1/functions/{fid}/versions", headers=P1)
    for method, path, body in (
        ("POST", "/v1/runtimes", {"image": "python3"}),
        ("PUT", f"/v1/runtimes/{rid}", {"name": "x"}),
        ("DELETE", f"/v1/runtimes/{rid}", None),
        ("GET", f"/v1/runtimes/{rid}/pool", None),
        ("POST", f"/v1/functions/{fid}/detach", None),
        ("POST", f"/v1/functions/{fid}/scale_up", {"count": 1}),
        ("POST", f"/v1/functions/{fid}/scale_down", {"count": 1}),
        ("GET", f"/v1/functions/{fid}/workers", None),
        ("POST", f"/v1/functions/{fid}/versions/1/detach", None),
        ("POST", f"/v1/functions/{fid}/versions/1/scale_up", {"count": 1}),
        ("POST", f"/v1/functions/{fid}/versions/1/scale_down", {"count": 1}),
    ):
        refused = api.request(method, path, json=body, headers=P1)

        assert refused.status_code == 403, (method, path, refused.text)
        assert "Only admins" in refused.json["faultstring"]
    assert api.get(f"/v1/runtimes/{rid}").json["name"] == runtime["name"]
    assert api.get(f"/v1/functions/{fid}/workers").json["workers"] == []


def test_roles_header_makes_a_member_an_admin(api, runtime):
    created = api.post("/v1/runtimes", json={"image": "python3"}, headers=P1_ADMIN)

    assert created.status_code == 201
    assert created.json["project_id"] == "p1"
