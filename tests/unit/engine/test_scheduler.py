"""The cron scheduler with a clock the test controls: no real waiting."""

from __future__ import annotations

import datetime

import pytest
import sqlalchemy as sa

from qinling.db import models
from qinling.engine.scheduler import JobScheduler
from tests.unit.db import rows

START = datetime.datetime(2030, 1, 1, 12, 0, 0)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime.datetime:
        return self.now

    def advance(self, **delta) -> None:
        self.now += datetime.timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fired() -> list[str]:
    return []


@pytest.fixture
def scheduler(database, clock, fired) -> JobScheduler:
    return JobScheduler(database, fired.append, clock=clock)


@pytest.fixture
def function_id(database) -> str:
    with database.transaction() as session:
        runtime = rows.runtime()
        session.add(runtime)
        session.flush()
        function = rows.function(runtime_id=runtime.id)
        session.add(function)
        session.flush()
        return function.id


def add_job(database, function_id: str, **values) -> str:
    fields = {
        "function_id": function_id,
        "status": "running",
        "pattern": "* * * * *",
        "next_execution_time": START,
        "project_id": rows.PROJECT,
        "function_input": '{"name": "cron"}',
    } | values
    with database.transaction() as session:
        job = models.Job(**fields)
        session.add(job)
        session.flush()
        return job.id


def job(database, job_id: str) -> models.Job:
    with database.transaction() as session:
        return session.get(models.Job, job_id)


def executions(database) -> list[models.Execution]:
    with database.transaction() as session:
        return list(session.scalars(sa.select(models.Execution)))


def test_every_minute_job_fires_once_per_minute(database, scheduler, clock, fired, function_id):
    job_id = add_job(database, function_id)

    assert scheduler.fire_due() == 1
    assert scheduler.fire_due() == 0, "the same due run must not fire twice"
    assert job(database, job_id).next_execution_time == START + datetime.timedelta(minutes=1)

    clock.advance(seconds=59)
    assert scheduler.fire_due() == 0
    clock.advance(seconds=1)
    assert scheduler.fire_due() == 1

    runs = executions(database)
    assert len(runs) == 2 == len(fired)
    assert {r.description for r in runs} == {f"Created by Job {job_id}"}
    assert all(r.input == '{"name": "cron"}' and not r.sync for r in runs)


def test_two_engines_fire_each_run_exactly_once(database, clock, fired, function_id):
    for _ in range(5):
        add_job(database, function_id)
    first = JobScheduler(database, fired.append, clock=clock)
    second = JobScheduler(database, fired.append, clock=clock)

    total = first.fire_due() + second.fire_due()

    assert total == 5
    assert len(fired) == len(set(fired)) == 5


def test_a_stale_claim_loses(database, clock, fired, function_id):
    """An engine that read the job before another fired it cannot fire it again."""
    job_id = add_job(database, function_id)
    scheduler = JobScheduler(database, fired.append, clock=clock)
    assert scheduler._fire(job_id, START, clock()) == 1
    assert scheduler._fire(job_id, START, clock()) == 0
    assert len(fired) == 1


def test_missed_runs_are_skipped_not_replayed(database, scheduler, clock, fired, function_id):
    job_id = add_job(database, function_id)
    clock.advance(hours=3, seconds=30)

    assert scheduler.fire_due() == 1
    assert scheduler.fire_due() == 0
    assert job(database, job_id).next_execution_time == START + datetime.timedelta(
        hours=3, minutes=1
    )


def test_count_limits_runs_then_job_is_done(database, scheduler, clock, function_id):
    job_id = add_job(database, function_id, count=2)
    assert scheduler.fire_due() == 1
    clock.advance(minutes=1)
    assert scheduler.fire_due() == 1
    clock.advance(minutes=1)
    assert scheduler.fire_due() == 0

    done = job(database, job_id)
    assert (done.status, done.count, done.next_execution_time) == ("done", 0, None)


def test_one_shot_job_runs_once(database, scheduler, clock, function_id):
    job_id = add_job(
        database,
        function_id,
        pattern=None,
        count=1,
        next_execution_time=START + datetime.timedelta(minutes=5),
    )
    assert scheduler.fire_due() == 0
    clock.advance(minutes=5)
    assert scheduler.fire_due() == 1
    clock.advance(days=1)
    assert scheduler.fire_due() == 0
    assert job(database, job_id).status == "done"


def test_paused_jobs_do_not_fire(database, scheduler, function_id):
    add_job(database, function_id, status="paused")
    assert scheduler.fire_due() == 0


def test_a_broken_job_is_marked_and_others_still_fire(database, scheduler, fired, function_id):
    broken = add_job(database, "no-such-function")
    healthy = add_job(database, function_id)

    assert scheduler.fire_due() == 1

    failed = job(database, broken)
    assert failed.status == "error"
    assert "no-such-function" in failed.status_reason
    assert job(database, healthy).status == "running"
    assert len(fired) == 1


def test_job_through_alias_runs_the_alias_version(database, scheduler, function_id):
    with database.transaction() as session:
        session.add(rows.version(function_id, 1))
        session.add(rows.alias(function_id, "stable", function_version=1))
    add_job(database, function_id, function_alias="stable")

    assert scheduler.fire_due() == 1
    (run,) = executions(database)
    assert (run.function_version, run.function_alias) == (1, "stable")
