"""/v1/functions: upload as python-qinlingclient does, update, download, scale."""

from __future__ import annotations

import json
import os

import pytest

from tests.unit.api.conftest import P1, make_zip, md5

BYE = 'def main(name="world", **kwargs):\n    return "bye " + name\n'


def _output(execution: dict) -> object:
    return json.loads(execution["result"])["output"]


def test_create_function_as_the_cli_does(api, runtime):
    package = make_zip()
    form = {
        "runtime_id": runtime["id"],
        "code": json.dumps({"source": "package", "md5sum": md5(package)}),
        "name": "hello",
        "entry": "main.main",
        "cpu": "100",
        "memory_size": "33554432",
        "timeout": "10",
    }

    created = api.send_form("POST", "/v1/functions", form, package, headers=P1)

    assert created.status_code == 201, created.text
    body = created.json
    assert (body["name"], body["entry"]) == ("hello", "main.main")
    assert body["runtime_id"] == runtime["id"]
    assert (body["cpu"], body["memory_size"], body["timeout"]) == (100, 33554432, 10)
    assert json.loads(body["code"]) == {"source": "package", "md5sum": md5(package)}
    assert body["package_size"] == len(package)
    assert (body["project_id"], body["latest_version"], body["count"]) == ("p1", 0, 0)


def test_defaults_apply_when_the_cli_leaves_fields_out(api, runtime):
    created = api.create_function(runtime["id"])
    limits = api.conf.resource_limits

    assert created["entry"] == "main.main"
    assert created["cpu"] == limits.default_cpu
    assert created["memory_size"] == limits.default_memory
    assert created["timeout"] == limits.default_timeout


def test_md5_mismatch_is_refused(api, runtime):
    package = make_zip()
    form = {
        "runtime_id": runtime["id"],
        "code": json.dumps({"source": "package", "md5sum": "0" * 32}),
    }

    refused = api.send_form("POST", "/v1/functions", form, package)

    assert refused.status_code == 400
    assert md5(package) in refused.json["faultstring"]
    assert api.get("/v1/functions").json["functions"] == []


def test_function_on_unavailable_runtime_is_refused(api):
    broken = api.create_runtime(image="ruby:3")
    package = make_zip()
    form = {"runtime_id": broken["id"], "code": json.dumps({"source": "package"})}

    refused = api.send_form("POST", "/v1/functions", form, package)

    assert refused.status_code == 409
    assert "not available" in refused.json["faultstring"]


def test_image_function_is_refused_without_kubernetes(api):
    form = {"code": json.dumps({"source": "image", "image": "alpine"}), "name": "img"}

    refused = api.send_form("POST", "/v1/functions", form)

    assert refused.status_code == 400, refused.text
    assert "kubernetes orchestrator" in refused.json["faultstring"]


def test_get_and_list_functions(api, function):
    shown = api.get(f"/v1/functions/{function['id']}", headers=P1)
    listed = api.get("/v1/functions", headers=P1)

    assert shown.status_code == 200
    assert shown.json == function
    assert listed.json["functions"] == [function]


def test_download_returns_the_uploaded_zip(api, runtime):
    package = make_zip({"main.py": "def main():\n    return 1\n"})
    function = api.create_function(runtime["id"], package=package)

    downloaded = api.get(f"/v1/functions/{function['id']}", params={"download": "true"})

    assert downloaded.status_code == 200
    assert downloaded.headers["content-type"] == "application/zip"
    assert downloaded.content == package
    assert f"{function['id']}.zip" in downloaded.headers["content-disposition"]


def test_update_with_new_package_as_the_cli_does(api, function):
    package = make_zip({"main.py": BYE})
    form = {"source": "package", "name": "renamed", "timeout": "7"}

    updated = api.send_form("PUT", f"/v1/functions/{function['id']}", form, package, headers=P1)

    assert updated.status_code == 200, updated.text
    assert (updated.json["name"], updated.json["timeout"]) == ("renamed", 7)
    assert json.loads(updated.json["code"])["md5sum"] == md5(package)
    downloaded = api.get(f"/v1/functions/{function['id']}?download=true", headers=P1)
    assert downloaded.content == package
    assert _output(api.execute(function["id"], headers=P1)) == "bye world"


def test_update_checks_md5_of_new_package(api, function):
    form = {"source": "package", "md5sum": "f" * 32}

    refused = api.send_form(
        "PUT", f"/v1/functions/{function['id']}", form, make_zip({"main.py": BYE}), headers=P1
    )

    assert refused.status_code == 400
    assert "md5" in refused.json["faultstring"]
    assert _output(api.execute(function["id"], headers=P1)) == "hello world"


def test_update_fields_with_urlencoded_form(api, function):
    form = {"description": "greets", "memory_size": "67108864", "entry": "main.main"}

    updated = api.send_form("PUT", f"/v1/functions/{function['id']}", form, headers=P1)

    assert updated.status_code == 200, updated.text
    assert updated.json["description"] == "greets"
    assert updated.json["memory_size"] == 67108864
    assert updated.json["code"] == function["code"]


def test_update_fields_with_json(api, function):
    updated = api.put(
        f"/v1/functions/{function['id']}",
        json={"environment": {"GREETING": "hi"}, "concurrency": 2},
        headers=P1,
    )

    assert updated.status_code == 200, updated.text
    assert updated.json["environment"] == {"GREETING": "hi"}
    assert updated.json["concurrency"] == 2


def test_update_outside_resource_limits_is_refused(api, function):
    too_long = api.conf.resource_limits.max_timeout + 1

    refused = api.send_form(
        "PUT", f"/v1/functions/{function['id']}", {"timeout": str(too_long)}, headers=P1
    )

    assert refused.status_code == 400
    assert "timeout must be between" in refused.json["faultstring"]


def test_package_function_cannot_become_image_function(api, function):
    refused = api.send_form(
        "PUT", f"/v1/functions/{function['id']}", {"source": "image"}, headers=P1
    )

    assert refused.status_code == 400
    assert "cannot become" in refused.json["faultstring"]


def test_delete_function(api, function):
    assert api.delete(f"/v1/functions/{function['id']}", headers=P1).status_code == 204

    assert api.get(f"/v1/functions/{function['id']}", headers=P1).status_code == 404
    assert api.get(f"/v1/functions/{function['id']}?download=true", headers=P1).status_code == 404


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/aliases", {"name": "live"}),
        ("/v1/webhooks", {}),
        ("/v1/jobs", {"pattern": "0 * * * *"}),
    ],
)
def test_function_in_use_cannot_be_deleted(api, function, path, body):
    user = api.post(path, json={"function_id": function["id"], **body}, headers=P1)
    assert user.status_code == 201, user.text

    refused = api.delete(f"/v1/functions/{function['id']}", headers=P1)

    assert refused.status_code == 409
    assert "delete them first" in refused.json["faultstring"]


def test_filter_functions_by_name(api, runtime):
    api.create_function(runtime["id"], name="alpha")
    beta = api.create_function(runtime["id"], name="beta")

    found = api.get("/v1/functions", params={"name": "beta"}).json["functions"]

    assert [f["id"] for f in found] == [beta["id"]]


def _workers(api, function_id: str) -> list[dict]:
    listed = api.get(f"/v1/functions/{function_id}/workers")
    assert listed.status_code == 200
    return listed.json["workers"]


def test_scale_up_scale_down_and_detach(api, function):
    fid = function["id"]

    assert api.post(f"/v1/functions/{fid}/scale_up", json={"count": 2}).status_code == 202
    assert len(_workers(api, fid)) == 2
    assert api.post(f"/v1/functions/{fid}/scale_down", json={"count": 1}).status_code == 202
    assert len(_workers(api, fid)) == 1
    assert api.post(f"/v1/functions/{fid}/detach").status_code == 202
    api.wait_for(f"/v1/functions/{fid}/workers", lambda r: r["workers"] == [])


def test_scale_up_without_body_adds_one_worker(api, function):
    assert api.post(f"/v1/functions/{function['id']}/scale_up").status_code == 202

    workers = _workers(api, function["id"])
    assert len(workers) == 1
    assert workers[0]["function_id"] == function["id"]
    assert workers[0]["function_version"] == 0


def test_execution_leaves_a_warm_worker(api, function):
    api.execute(function["id"], headers=P1)

    assert [w["status"] for w in _workers(api, function["id"])] == ["idle"]


def test_a_refused_upload_keeps_no_package(api, runtime):
    form = {"runtime_id": runtime["id"], "code": json.dumps({"source": "package"}), "cpu": "abc"}

    refused = api.send_form("POST", "/v1/functions", form, make_zip({"main.py": "x = 1\n"}))

    assert refused.status_code == 400, refused.text
    packages = os.path.join(api.conf.state_dir, "packages")
    stored = [n for _, _, names in os.walk(packages) for n in names if n.endswith(".zip")]
    assert stored == []
