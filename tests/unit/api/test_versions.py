"""/v1/functions/{id}/versions: snapshots, their packages and their workers."""

from __future__ import annotations

import json

from tests.unit.api.conftest import P1, make_zip

BYE = 'def main(name="world", **kwargs):\n    return "bye " + name\n'


def _versions(function_id: str) -> str:
    return f"/v1/functions/{function_id}/versions"


def _new_code(api, function_id: str, package: bytes) -> None:
    form = {"source": "package"}
    updated = api.send_form("PUT", f"/v1/functions/{function_id}", form, package, headers=P1)
    assert updated.status_code == 200, updated.text


def test_create_version(api, function):
    created = api.post(_versions(function["id"]), json={"description": "first"}, headers=P1)

    assert created.status_code == 201
    assert created.json["version_number"] == 1
    assert created.json["description"] == "first"
    assert created.json["function_id"] == function["id"]
    shown = api.get(f"/v1/functions/{function['id']}", headers=P1).json
    assert shown["latest_version"] == 1


def test_create_version_without_body(api, function):
    created = api.post(_versions(function["id"]), headers=P1)

    assert created.status_code == 201
    assert created.json["description"] is None


def test_version_of_unchanged_function_is_a_conflict(api, function):
    api.post(_versions(function["id"]), headers=P1)

    again = api.post(_versions(function["id"]), headers=P1)

    assert again.status_code == 409
    assert "Nothing changed since version 1" in again.json["faultstring"]


def test_new_version_after_update(api, function):
    api.post(_versions(function["id"]), headers=P1)
    _new_code(api, function["id"], make_zip({"main.py": BYE}))

    second = api.post(_versions(function["id"]), headers=P1)

    assert second.status_code == 201
    assert second.json["version_number"] == 2


def test_versions_are_capped(api, function):
    for n in range(api.conf.engine.max_versions):
        _new_code(api, function["id"], make_zip({"main.py": f"def main():\n    return {n}\n"}))
        assert api.post(_versions(function["id"]), headers=P1).status_code == 201
    _new_code(api, function["id"], make_zip({"main.py": BYE}))

    refused = api.post(_versions(function["id"]), headers=P1)

    assert refused.status_code == 409
    assert "delete an old one first" in refused.json["faultstring"]


def test_list_and_show_versions(api, function):
    first = api.post(_versions(function["id"]), headers=P1).json
    _new_code(api, function["id"], make_zip({"main.py": BYE}))
    second = api.post(_versions(function["id"]), headers=P1).json

    listed = api.get(_versions(function["id"]), headers=P1)
    shown = api.get(f"{_versions(function['id'])}/2", headers=P1)

    assert listed.json["function_versions"] == [first, second]
    assert shown.json == second
    assert api.get(f"{_versions(function['id'])}/3", headers=P1).status_code == 404


def test_version_keeps_its_own_package_and_code(api, function):
    original = api.get(f"/v1/functions/{function['id']}?download=true", headers=P1).content
    api.post(_versions(function["id"]), headers=P1)
    _new_code(api, function["id"], make_zip({"main.py": BYE}))

    downloaded = api.get(f"{_versions(function['id'])}/1", params={"download": "true"}, headers=P1)
    old = api.execute(function["id"], function_version=1, headers=P1)
    new = api.execute(function["id"], headers=P1)

    assert downloaded.status_code == 200
    assert downloaded.content == original
    assert json.loads(old["result"])["output"] == "hello world"
    assert json.loads(new["result"])["output"] == "bye world"
    assert old["function_version"] == 1


def test_delete_version(api, function):
    api.post(_versions(function["id"]), headers=P1)

    assert api.delete(f"{_versions(function['id'])}/1", headers=P1).status_code == 204
    assert api.get(_versions(function["id"]), headers=P1).json["function_versions"] == []


def test_version_used_by_alias_cannot_be_deleted(api, function):
    api.post(_versions(function["id"]), headers=P1)
    alias = {"name": "stable", "function_id": function["id"], "function_version": 1}
    assert api.post("/v1/aliases", json=alias, headers=P1).status_code == 201

    refused = api.delete(f"{_versions(function['id'])}/1", headers=P1)

    assert refused.status_code == 409
    assert "used by an alias" in refused.json["faultstring"]
    assert api.get(f"{_versions(function['id'])}/1", headers=P1).status_code == 200


def test_version_that_is_an_alias_second_target_cannot_be_deleted(api, function):
    api.post(_versions(function["id"]), headers=P1)
    alias = {
        "name": "canary",
        "function_id": function["id"],
        "additional_version": 1,
        "additional_weight": 10,
    }
    assert api.post("/v1/aliases", json=alias, headers=P1).status_code == 201

    assert api.delete(f"{_versions(function['id'])}/1", headers=P1).status_code == 409


def test_scale_a_version(api, function):
    api.post(_versions(function["id"]), headers=P1)
    version = f"{_versions(function['id'])}/1"

    assert api.post(f"{version}/scale_up", json={"count": 2}).status_code == 202
    workers = api.get(f"/v1/functions/{function['id']}/workers").json["workers"]
    assert [w["function_version"] for w in workers] == [1, 1]
    assert api.post(f"{version}/scale_down", json={"count": 2}).status_code == 202
    assert api.get(f"/v1/functions/{function['id']}/workers").json["workers"] == []


def test_detach_a_version(api, function):
    api.post(_versions(function["id"]), headers=P1)
    api.post(f"{_versions(function['id'])}/1/scale_up")

    assert api.post(f"{_versions(function['id'])}/1/detach").status_code == 202
    api.wait_for(f"/v1/functions/{function['id']}/workers", lambda r: r["workers"] == [])


def test_scale_unknown_version_is_not_found(api, function):
    missing = api.post(f"{_versions(function['id'])}/9/scale_up")

    assert missing.status_code == 404
    assert "no version 9" in missing.json["faultstring"]
