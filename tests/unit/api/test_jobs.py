"""/v1/jobs: cron patterns, one-off runs and the job state machine."""

from __future__ import annotations

import datetime

import pytest

from tests.unit.api.conftest import P1


def _later(**delta) -> datetime.datetime:
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)
    return now + datetime.timedelta(**delta)


def _job(api, **fields) -> dict:
    created = api.post("/v1/jobs", json=fields, headers=P1)
    assert created.status_code == 201, created.text
    return created.json


def _set_status(api, job_id: str, status: str):
    return api.put(f"/v1/jobs/{job_id}", json={"status": status}, headers=P1)


def test_create_job_with_pattern(api, function):
    job = _job(api, function_id=function["id"], pattern="*/5 * * * *", name="every5")

    assert (job["status"], job["name"], job["pattern"]) == ("running", "every5", "*/5 * * * *")
    next_time = datetime.datetime.fromisoformat(job["next_execution_time"])
    assert next_time.minute % 5 == 0
    assert _later() < next_time <= _later(minutes=5)
    assert job["first_execution_time"] is None


def test_create_job_with_first_execution_time(api, function):
    start = _later(hours=1)

    job = _job(
        api,
        function_id=function["id"],
        first_execution_time=start.isoformat(),
        function_input={"name": "job"},
    )

    assert job["first_execution_time"] == start.strftime("%Y-%m-%d %H:%M:%S")
    assert job["next_execution_time"] == job["first_execution_time"]
    assert job["count"] == 1
    assert job["function_input"] == '{"name": "job"}'


def test_first_execution_time_with_time_zone_is_stored_in_utc(api, function):
    start = _later(hours=3)
    in_plus_two = start.replace(tzinfo=datetime.UTC).astimezone(
        datetime.timezone(datetime.timedelta(hours=2))
    )

    job = _job(api, function_id=function["id"], first_execution_time=in_plus_two.isoformat())

    assert job["first_execution_time"] == start.strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize("pattern", ["not cron", "61 * * * *", "* * * *"])
def test_bad_cron_pattern_is_refused(api, function, pattern):
    refused = api.post("/v1/jobs", json={"function_id": function["id"], "pattern": pattern})

    assert refused.status_code == 400
    assert "not a valid cron pattern" in refused.json["faultstring"]


def test_first_execution_time_in_the_past_is_refused(api, function):
    refused = api.post(
        "/v1/jobs",
        json={"function_id": function["id"], "first_execution_time": "2001-01-01 00:00"},
    )

    assert refused.status_code == 400
    assert "past" in refused.json["faultstring"]


def test_job_needs_a_pattern_or_a_time(api, function):
    refused = api.post("/v1/jobs", json={"function_id": function["id"]})

    assert refused.status_code == 400
    assert "pattern" in refused.json["faultstring"]


def test_pause_resume_cancel(api, function):
    job = _job(api, function_id=function["id"], pattern="0 * * * *")

    paused = _set_status(api, job["id"], "paused")
    resumed = _set_status(api, job["id"], "running")
    cancelled = _set_status(api, job["id"], "cancelled")

    assert [r.status_code for r in (paused, resumed, cancelled)] == [200, 200, 200]
    assert [r.json["status"] for r in (paused, resumed, cancelled)] == [
        "paused",
        "running",
        "cancelled",
    ]


@pytest.mark.parametrize(
    "change", [{"status": "running"}, {"status": "paused"}, {"name": "renamed"}]
)
def test_cancelled_job_cannot_change(api, function, change):
    job = _job(api, function_id=function["id"], pattern="0 * * * *")
    _set_status(api, job["id"], "cancelled")

    refused = api.put(f"/v1/jobs/{job['id']}", json=change, headers=P1)

    assert refused.status_code == 409
    assert "cancelled" in refused.json["faultstring"]


def test_status_done_cannot_be_set_by_users(api, function):
    job = _job(api, function_id=function["id"], pattern="0 * * * *")

    refused = _set_status(api, job["id"], "done")

    assert refused.status_code == 400
    assert "status" in refused.json["faultstring"]


def test_update_pattern_moves_next_execution_time(api, function):
    job = _job(api, function_id=function["id"], pattern="0 0 1 1 *")

    updated = api.put(f"/v1/jobs/{job['id']}", json={"pattern": "*/2 * * * *"}, headers=P1)

    assert updated.status_code == 200
    assert updated.json["pattern"] == "*/2 * * * *"
    assert datetime.datetime.fromisoformat(updated.json["next_execution_time"]) <= _later(minutes=2)


def test_list_filter_and_delete_jobs(api, function):
    running = _job(api, function_id=function["id"], pattern="0 * * * *")
    paused = _job(api, function_id=function["id"], pattern="0 * * * *")
    _set_status(api, paused["id"], "paused")

    found = api.get("/v1/jobs", params={"status": "paused"}, headers=P1).json["jobs"]
    deleted = api.delete(f"/v1/jobs/{running['id']}", headers=P1)

    assert [j["id"] for j in found] == [paused["id"]]
    assert deleted.status_code == 204
    assert [j["id"] for j in api.get("/v1/jobs", headers=P1).json["jobs"]] == [paused["id"]]
