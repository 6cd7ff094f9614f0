"""/v1/jobs: run a function on a cron pattern or once at a given time."""

from __future__ import annotations

import datetime

import croniter
import falcon
import sqlalchemy as sa

from qinling import exceptions, states
from qinling.api import body, params
from qinling.api.deps import Deps
from qinling.api.v1 import targets, views
from qinling.db import executions, models, queries

CREATE_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": ["string", "null"], "maxLength": 255},
        "function_id": {"type": ["string", "null"], "maxLength": 36},
        "function_version": body.VERSION_NUMBER,
        "function_alias": {"type": ["string", "null"], "maxLength": 255},
        "function_input": {"type": ["string", "object", "array", "null"]},
        "pattern": {"type": ["string", "null"], "maxLength": 255},
        "first_execution_time": {"type": ["string", "null"], "maxLength": 64},
        "count": {"type": ["integer", "null"], "minimum": 1, "maximum": body.MAX_INTEGER},
    },
    "additionalProperties": False,
}
UPDATE_SCHEMA = {
    "type": "object",
    "properties": {
        "name": CREATE_SCHEMA["properties"]["name"],
        "status": {
            "enum": [
                str(states.JobStatus.RUNNING),
                str(states.JobStatus.PAUSED),
                str(states.JobStatus.CANCELLED),
            ]
        },
        "pattern": CREATE_SCHEMA["properties"]["pattern"],
        "next_execution_time": {"type": ["string", "null"], "maxLength": 64},
        "function_input": CREATE_SCHEMA["properties"]["function_input"],
    },
    "additionalProperties": False,
}
# python-qinlingclient sends these as null when the user did not give them.
CLIENT_UPDATE_FIELDS = frozenset(
    {"name", "status", "pattern", "next_execution_time", "function_input"}
)
FILTERS = frozenset(
    {
        "name",
        "status",
        "function_id",
        "function_alias",
        "project_id",
        "created_at",
        "next_execution_time",
    }
)


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def parse_time(raw: str, field: str) -> datetime.datetime:
    """A time as the user wrote it; UTC when it names no time zone."""
    try:
        value = datetime.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
        if value.tzinfo is not None:
            # OverflowError: a time zone pushes it past year 1 or 9999.
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    except (ValueError, OverflowError) as err:
        raise exceptions.InputError(
            f"{field} '{raw}' is not a usable time; use e.g. '2030-01-01 12:00' or "
            "'2030-01-01T12:00:00+02:00'."
        ) from err
    return value.replace(microsecond=0)


def check_pattern(pattern: str) -> None:
    if not croniter.croniter.is_valid(pattern):
        raise exceptions.InputError(
            f"'{pattern}' is not a valid cron pattern (five fields, e.g. '*/5 * * * *')."
        )
    try:
        next_run(pattern, now())
    except croniter.CroniterBadDateError as err:
        raise exceptions.InputError(
            f"The cron pattern '{pattern}' matches no date; check its day and month fields."
        ) from err


def next_run(pattern: str, after: datetime.datetime) -> datetime.datetime:
    return croniter.croniter(pattern, after).get_next(datetime.datetime)


def _input_text(value) -> str | None:
    return executions.encode_input(value)


class Jobs:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params.respond_with_list(
            req,
            resp,
            self.deps,
            resource="job",
            model=models.Job,
            key="jobs",
            allowed=FILTERS,
            view=views.job,
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = req.context.ctx
        self.deps.policy.enforce(ctx, "job:create")
        data = body.read_json(req, CREATE_SCHEMA, max_size=self.deps.max_body)
        pattern, first = data.get("pattern"), data.get("first_execution_time")
        if not pattern and not first:
            raise exceptions.InputError("A job needs a pattern, a first_execution_time or both.")
        if pattern:
            check_pattern(pattern)
        start = parse_time(first, "first_execution_time") if first else None
        if start is not None and start < now():
            raise exceptions.InputError("first_execution_time must not be in the past.")
        if not pattern and data.get("count") not in (None, 1):
            raise exceptions.InputError("A job without a pattern runs once; count must be 1.")
        with self.deps.db.transaction() as session:
            target = targets.resolve(
                session,
                ctx,
                function_id=data.get("function_id"),
                function_version=data.get("function_version"),
                function_alias=data.get("function_alias"),
            )
            row = models.Job(
                name=data.get("name"),
                function_id=target.function_id,
                function_version=target.function_version,
                function_alias=target.function_alias,
                function_input=_input_text(data.get("function_input")),
                pattern=pattern,
                status=states.JobStatus.RUNNING,
                first_execution_time=start,
                next_execution_time=start or next_run(pattern, now()),
                count=data.get("count") if pattern else 1,
                project_id=ctx.project_id,
                trust_id=targets.owner_trust(session, target.function_id),
            )
            session.add(row)
            session.flush()
            resp.media = views.job(row)
        resp.status = falcon.HTTP_201


class Job:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        self.deps.policy.enforce(req.context.ctx, "job:get")
        with self.deps.db.transaction() as session:
            resp.media = views.job(queries.get(session, models.Job, job_id, req.context.ctx, "Job"))

    def on_put(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        self.deps.policy.enforce(req.context.ctx, "job:update")
        data = body.read_json(
            req, UPDATE_SCHEMA, max_size=self.deps.max_body, unchanged_if_null=CLIENT_UPDATE_FIELDS
        )
        with self.deps.db.transaction() as session:
            row = queries.get(session, models.Job, job_id, req.context.ctx, "Job", for_update=True)
            self._apply(row, data)
            row.updated_at = models.utcnow()
            session.flush()
            resp.media = views.job(row)

    @staticmethod
    def _apply(row: models.Job, data: dict) -> None:
        if row.status in (states.JobStatus.DONE, states.JobStatus.CANCELLED):
            raise exceptions.Conflict(f"Job {row.id} is {row.status}; it can no longer change.")
        if "status" in data:
            states.check_transition(
                states.JOB_TRANSITIONS, row.status, data["status"], what="The job"
            )
            if data["status"] == states.JobStatus.RUNNING and row.pattern:
                row.next_execution_time = max(row.next_execution_time or now(), now())
            row.status = data["status"]
            row.status_reason = None
        if data.get("pattern"):
            check_pattern(data["pattern"])
            row.pattern = data["pattern"]
            row.next_execution_time = next_run(row.pattern, now())
        if data.get("next_execution_time"):
            when = parse_time(data["next_execution_time"], "next_execution_time")
            if when < now():
                raise exceptions.InputError("next_execution_time must not be in the past.")
            row.next_execution_time = when
        if "name" in data:
            row.name = data["name"]
        if "function_input" in data:
            row.function_input = _input_text(data["function_input"])

    def on_delete(self, req: falcon.Request, resp: falcon.Response, job_id: str) -> None:
        self.deps.policy.enforce(req.context.ctx, "job:delete")
        with self.deps.db.transaction() as session:
            row = queries.get(session, models.Job, job_id, req.context.ctx, "Job")
            session.execute(sa.delete(models.Job).where(models.Job.id == row.id))
        resp.status = falcon.HTTP_204
