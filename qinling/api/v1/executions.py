"""/v1/executions: run functions and read how they went."""

from __future__ import annotations

import json
import logging
from typing import Any

import falcon
import sqlalchemy as sa

from qinling import states
from qinling.api import body, params
from qinling.api.deps import Deps
from qinling.api.v1 import targets, views
from qinling.context import RequestContext
from qinling.db import executions as db_executions
from qinling.db import models, queries

LOG = logging.getLogger(__name__)

CREATE_SCHEMA = {
    "type": "object",
    "properties": {
        "function_id": {"type": ["string", "null"], "maxLength": 36},
        "function_version": body.VERSION_NUMBER,
        "function_alias": {"type": ["string", "null"], "maxLength": 255},
        "sync": {"type": ["boolean", "null"]},
        "input": {},
        "description": {"type": ["string", "null"], "maxLength": 255},
    },
    "additionalProperties": False,
}
CANCELLED_MESSAGE = "Execution cancelled at a user's request."
FILTERS = frozenset(
    {
        "function_id",
        "function_version",
        "function_alias",
        "status",
        "description",
        "sync",
        "project_id",
        "created_at",
        "updated_at",
        "cold_start",
    }
)


def start(
    deps: Deps,
    ctx: RequestContext,
    target: targets.Target,
    *,
    input: Any,
    sync: bool,
    description: str | None = None,
) -> str:
    """Accept an execution of a known target and hand it to the engine."""
    return run(
        deps,
        ctx,
        function_id=target.function_id,
        version=target.function_version,
        alias=target.function_alias,
        input=input,
        sync=sync,
        description=description,
        scoped=False,
    )["id"]


def run(
    deps: Deps,
    ctx: RequestContext,
    *,
    function_id: str | None,
    version: int | None,
    alias: str | None,
    input: Any,
    sync: bool,
    description: str | None,
    scoped: bool = True,
) -> dict[str, Any]:
    """Accept an execution and have it run; the row as it stands afterwards
    (final when ``sync``), as the API shows it."""
    order = db_executions.Order(
        function_id=function_id,
        version=version,
        alias=alias,
        input=input,
        sync=sync,
        description=description,
        alias_project=ctx.project_id,
        scope_project=ctx.project_id if scoped and not ctx.is_admin else None,
    )
    return views.execution(deps.invoker.invoke(ctx, order))


class Executions:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params.respond_with_list(
            req,
            resp,
            self.deps,
            resource="execution",
            model=models.Execution,
            key="executions",
            allowed=FILTERS,
            view=views.execution,
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        self.deps.policy.enforce(req.context.ctx, "execution:create")
        data = body.read_json(req, CREATE_SCHEMA, max_size=self.deps.max_body)
        sync = data.get("sync")
        resp.media = run(
            self.deps,
            req.context.ctx,
            function_id=data.get("function_id"),
            version=data.get("function_version"),
            alias=data.get("function_alias"),
            input=data.get("input"),
            sync=True if sync is None else sync,
            description=data.get("description"),
        )
        resp.status = falcon.HTTP_201


class Execution:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response, execution_id: str) -> None:
        self.deps.policy.enforce(req.context.ctx, "execution:get")
        with self.deps.db.transaction() as session:
            row = queries.get(session, models.Execution, execution_id, req.context.ctx, "Execution")
            resp.media = views.execution(row)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, execution_id: str) -> None:
        """Delete a finished execution (204), or cancel a running one (200,
        the execution as it ended: ``cancelled``, or how it ended meanwhile)."""
        ctx = req.context.ctx
        self.deps.policy.enforce(ctx, "execution:delete")
        with self.deps.db.transaction() as session:
            row = queries.get(
                session, models.Execution, execution_id, ctx, "Execution", for_update=True
            )
            if row.status != states.ExecutionStatus.RUNNING:
                session.execute(sa.delete(models.Execution).where(models.Execution.id == row.id))
                resp.status = falcon.HTTP_204
                return
            # Not started: the row lock keeps engines from claiming it meanwhile.
            started, host = row.started_at is not None, row.engine_host
            if not started:
                row.status = states.ExecutionStatus.CANCELLED
                row.result = json.dumps({"duration": 0.0, "output": CANCELLED_MESSAGE})
                row.finished_at = models.utcnow()
        if started:
            # Outside the transaction: the engine ends the row itself.
            self.deps.engine.cancel_execution(ctx, execution_id, host=host)
        with self.deps.db.transaction() as session:
            resp.media = views.execution(session.get(models.Execution, execution_id))


class ExecutionLog:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response, execution_id: str) -> None:
        self.deps.policy.enforce(req.context.ctx, "execution_log:get")
        with self.deps.db.transaction() as session:
            row = queries.get(session, models.Execution, execution_id, req.context.ctx, "Execution")
            resp.content_type = falcon.MEDIA_TEXT
            resp.text = row.logs or ""
