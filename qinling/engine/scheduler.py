"""Cron jobs: fire each due run exactly once, even with several engines.

A run is claimed by moving the job's ``next_execution_time`` forward with a
conditional UPDATE (compare-and-set on the old value): of several engines
that see the same due job, exactly one update matches, and only that engine
fires the run. Missed runs after downtime are not replayed: the next time is
computed from now, not from the missed time.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable

import croniter
import sqlalchemy as sa

from qinling import exceptions, states
from qinling.db import executions, models
from qinling.db.session import Database

LOG = logging.getLogger(__name__)

Clock = Callable[[], datetime.datetime]


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)


class JobScheduler:
    def __init__(self, db: Database, run: Callable[[str], None], *, clock: Clock = utcnow) -> None:
        """``run(execution_id)`` starts an accepted execution asynchronously."""
        self._db = db
        self._run = run
        self._clock = clock

    def fire_due(self, limit: int = 100) -> int:
        """Fire every job due now; returns how many runs were started."""
        now = self._clock()
        with self._db.transaction() as session:
            due = session.execute(
                sa.select(models.Job.id, models.Job.next_execution_time)
                .where(
                    models.Job.status == states.JobStatus.RUNNING,
                    models.Job.next_execution_time <= now,
                )
                .order_by(models.Job.next_execution_time)
                .limit(limit)
            ).all()
        fired = 0
        for job_id, when in due:
            try:
                fired += self._fire(job_id, when, now)
            except Exception as err:  # one broken job must not stop the others
                LOG.exception("Job %s failed", job_id)
                self._mark_error(job_id, f"The job could not run: {err}")
        return fired

    def _fire(self, job_id: str, when: datetime.datetime, now: datetime.datetime) -> int:
        with self._db.transaction() as session:
            job = session.get(models.Job, job_id)
            if job is None or job.status != states.JobStatus.RUNNING:
                return 0
            if not self._claim(session, job, when, now):
                return 0  # another engine fired this run
            try:
                execution = executions.accept(
                    session.connection(),
                    function_id=job.function_id,
                    version=job.function_version,
                    alias=job.function_alias,
                    alias_project=job.project_id,
                    input=job.function_input,
                    sync=False,
                    description=f"Created by Job {job.id}",
                )
            except exceptions.QinlingError as err:
                job.status = states.JobStatus.ERROR
                job.status_reason = f"The job cannot run its function: {err.message}"
                LOG.warning("Job %s: %s", job.id, job.status_reason)
                return 0
            execution_id = execution.id
        LOG.info("Job %s fired execution %s", job_id, execution_id)
        self._run(execution_id)
        return 1

    @staticmethod
    def _claim(session, job: models.Job, when: datetime.datetime, now: datetime.datetime) -> bool:
        remaining = None if job.count is None else job.count - 1
        finished = not job.pattern or remaining == 0
        values: dict = {"count": remaining, "updated_at": now}
        if finished:
            values |= {"status": states.JobStatus.DONE, "next_execution_time": None}
        else:
            values["next_execution_time"] = croniter.croniter(job.pattern, now).get_next(
                datetime.datetime
            )
        claimed = session.execute(
            sa.update(models.Job)
            .where(
                models.Job.id == job.id,
                models.Job.next_execution_time == when,
                models.Job.status == states.JobStatus.RUNNING,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount == 1:
            session.refresh(job)
            return True
        return False

    def _mark_error(self, job_id: str, reason: str) -> None:
        try:
            with self._db.transaction() as session:
                session.execute(
                    sa.update(models.Job)
                    .where(models.Job.id == job_id)
                    .values(status=states.JobStatus.ERROR, status_reason=reason)
                )
        except exceptions.QinlingError:
            LOG.exception("Could not mark job %s as failed", job_id)
