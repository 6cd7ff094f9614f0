"""/v1/runtimes and /v1/runtimes/{id}/pool."""

from __future__ import annotations

from tests.unit.api.conftest import P1


def test_create_runtime_becomes_available(api):
    created = api.post("/v1/runtimes", json={"image": "python3", "name": "py", "description": "d"})

    assert created.status_code == 201
    assert created.json["status"] == "creating"
    assert created.json["project_id"] == "default"
    ready = api.wait_for(f"/v1/runtimes/{created.json['id']}", lambda r: r["status"] != "creating")
    assert ready["status"] == "available"
    assert (ready["name"], ready["image"], ready["description"]) == ("py", "python3", "d")
    assert ready["is_public"] is True


def test_runtime_with_unknown_image_ends_in_error_with_reason(api):
    broken = api.create_runtime(image="ruby:3")

    assert broken["status"] == "error"
    assert "ruby:3" in broken["status_reason"]


def test_list_runtimes_uses_qinling_envelope(api, runtime):
    listed = api.get("/v1/runtimes")

    assert listed.status_code == 200
    assert [r["id"] for r in listed.json["runtimes"]] == [runtime["id"]]


def test_update_name_keeps_runtime_available(api, runtime):
    updated = api.put(f"/v1/runtimes/{runtime['id']}", json={"name": "renamed"})

    assert updated.status_code == 200
    assert updated.json["name"] == "renamed"
    assert updated.json["status"] == "available"


def test_update_image_upgrades_the_pool(api, runtime):
    updated = api.put(f"/v1/runtimes/{runtime['id']}", json={"image": "python3.12"})

    assert updated.json["status"] == "upgrading"
    done = api.wait_for(f"/v1/runtimes/{runtime['id']}", lambda r: r["status"] != "upgrading")
    assert (done["status"], done["image"]) == ("available", "python3.12")


def test_delete_runtime(api, runtime):
    assert api.delete(f"/v1/runtimes/{runtime['id']}").status_code == 204

    gone = api.get(f"/v1/runtimes/{runtime['id']}")
    assert gone.status_code == 404
    assert runtime["id"] in gone.json["faultstring"]


def test_runtime_in_use_cannot_be_deleted(api, runtime, function):
    refused = api.delete(f"/v1/runtimes/{runtime['id']}")

    assert refused.status_code == 409
    assert "delete them first" in refused.json["faultstring"]
    assert api.get(f"/v1/runtimes/{runtime['id']}").status_code == 200


def test_pool_reports_capacity(api, runtime):
    pool = api.get(f"/v1/runtimes/{runtime['id']}/pool")

    assert pool.status_code == 200
    assert pool.json["name"] == runtime["id"]
    assert set(pool.json["capacity"]) == {"total", "available"}


def test_public_runtime_is_visible_to_every_project(api, runtime):
    seen = api.get(f"/v1/runtimes/{runtime['id']}", headers=P1)

    assert seen.status_code == 200
    assert [r["id"] for r in api.get("/v1/runtimes", headers=P1).json["runtimes"]] == [
        runtime["id"]
    ]


def test_private_runtime_is_hidden_from_other_projects(api):
    private = api.create_runtime(is_public=False)

    assert api.get(f"/v1/runtimes/{private['id']}", headers=P1).status_code == 404
    assert api.get("/v1/runtimes", headers=P1).json["runtimes"] == []


def test_filter_runtimes_by_status(api, runtime):
    api.create_runtime(image="ruby:3")

    errored = api.get("/v1/runtimes", params={"status": "error"}).json["runtimes"]
    available = api.get("/v1/runtimes", params={"status": "in:available,creating"}).json

    assert [r["image"] for r in errored] == ["ruby:3"]
    assert [r["id"] for r in available["runtimes"]] == [runtime["id"]]
