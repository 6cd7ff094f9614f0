"""/v1/aliases: names for a function version, with weighted traffic split."""

from __future__ import annotations

import json

import pytest

from tests.unit.api.conftest import P1, make_zip

BYE = 'def main(name="world", **kwargs):\n    return "bye " + name\n'


@pytest.fixture
def two_versions(api, function):
    """The function with version 1 saying hello and version 2 saying bye."""
    fid = function["id"]
    assert api.post(f"/v1/functions/{fid}/versions", headers=P1).status_code == 201
    form = {"source": "package"}
    package = make_zip({"main.py": BYE})
    updated = api.send_form("PUT", f"/v1/functions/{fid}", form, package, headers=P1)
    assert updated.status_code == 200, updated.text
    assert api.post(f"/v1/functions/{fid}/versions", headers=P1).status_code == 201
    return function


def _alias(api, **fields) -> dict:
    created = api.post("/v1/aliases", json=fields, headers=P1)
    assert created.status_code == 201, created.text
    return created.json


def _output_via(api, alias: str) -> str:
    done = api.post("/v1/executions", json={"function_alias": alias}, headers=P1)
    assert done.status_code == 201, done.text
    return json.loads(done.json["result"])["output"]


def test_create_show_list_alias(api, two_versions):
    created = _alias(
        api, name="live", function_id=two_versions["id"], function_version=1, description="prod"
    )

    assert (created["name"], created["function_version"], created["description"]) == (
        "live",
        1,
        "prod",
    )
    assert api.get("/v1/aliases/live", headers=P1).json == created
    assert api.get("/v1/aliases", headers=P1).json["function_aliases"] == [created]


def test_alias_without_version_points_at_latest_code(api, function):
    created = _alias(api, name="head", function_id=function["id"])

    assert created["function_version"] == 0
    assert _output_via(api, "head") == "hello world"


def test_duplicate_alias_is_a_conflict(api, function):
    _alias(api, name="live", function_id=function["id"])

    again = api.post(
        "/v1/aliases", json={"name": "live", "function_id": function["id"]}, headers=P1
    )

    assert again.status_code == 409
    assert "already exists" in again.json["faultstring"]


def test_alias_to_missing_version_is_not_found(api, function):
    missing = api.post(
        "/v1/aliases",
        json={"name": "x", "function_id": function["id"], "function_version": 4},
        headers=P1,
    )

    assert missing.status_code == 404
    assert "no version 4" in missing.json["faultstring"]


def test_execution_through_alias_runs_its_version(api, two_versions):
    _alias(api, name="old", function_id=two_versions["id"], function_version=1)

    done = api.post("/v1/executions", json={"function_alias": "old"}, headers=P1).json

    assert json.loads(done["result"])["output"] == "hello world"
    assert (done["function_alias"], done["function_version"]) == ("old", 1)


def test_update_alias_moves_it_to_another_version(api, two_versions):
    _alias(api, name="live", function_id=two_versions["id"], function_version=1)

    updated = api.put("/v1/aliases/live", json={"function_version": 2}, headers=P1)

    assert updated.status_code == 200
    assert updated.json["function_version"] == 2
    assert _output_via(api, "live") == "bye world"


@pytest.mark.parametrize(("weight", "expected"), [(100, "bye world"), (0, "hello world")])
def test_additional_weight_sends_that_share_to_second_version(api, two_versions, weight, expected):
    _alias(
        api,
        name="canary",
        function_id=two_versions["id"],
        function_version=1,
        additional_version=2,
        additional_weight=weight,
    )

    assert {_output_via(api, "canary") for _ in range(5)} == {expected}


def test_additional_version_needs_a_weight(api, two_versions):
    refused = api.post(
        "/v1/aliases",
        json={"name": "c", "function_id": two_versions["id"], "additional_version": 2},
        headers=P1,
    )

    assert refused.status_code == 400
    assert "additional_weight" in refused.json["faultstring"]


def test_weight_over_100_is_refused(api, two_versions):
    refused = api.post(
        "/v1/aliases",
        json={
            "name": "c",
            "function_id": two_versions["id"],
            "additional_version": 2,
            "additional_weight": 101,
        },
        headers=P1,
    )

    assert refused.status_code == 400
    assert "additional_weight" in refused.json["faultstring"]


def test_clearing_the_split(api, two_versions):
    _alias(
        api,
        name="canary",
        function_id=two_versions["id"],
        function_version=1,
        additional_version=2,
        additional_weight=100,
    )

    updated = api.put(
        "/v1/aliases/canary",
        json={"additional_version": None, "additional_weight": None},
        headers=P1,
    )

    assert updated.status_code == 200
    assert updated.json["additional_version"] is None
    assert _output_via(api, "canary") == "hello world"


def test_delete_alias(api, function):
    _alias(api, name="live", function_id=function["id"])

    assert api.delete("/v1/aliases/live", headers=P1).status_code == 204
    gone = api.get("/v1/aliases/live", headers=P1)
    assert gone.status_code == 404
    assert "live" in gone.json["faultstring"]


def test_alias_used_by_webhook_cannot_be_deleted(api, function):
    _alias(api, name="live", function_id=function["id"])
    assert api.post("/v1/webhooks", json={"function_alias": "live"}, headers=P1).status_code == 201

    refused = api.delete("/v1/aliases/live", headers=P1)

    assert refused.status_code == 409
    assert "webhook" in refused.json["faultstring"]


def test_same_alias_name_in_two_projects(api, runtime, function):
    other = api.create_function(runtime["id"], headers={"X-Project-Id": "p2"})
    _alias(api, name="live", function_id=function["id"])

    created = api.post(
        "/v1/aliases",
        json={"name": "live", "function_id": other["id"]},
        headers={"X-Project-Id": "p2"},
    )

    assert created.status_code == 201, created.text
    assert api.get("/v1/aliases/live", headers=P1).json["function_id"] == function["id"]
