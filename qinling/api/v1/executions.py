"""/v1/executions: run functions and read how they went."""

from __future__ import annotations

from typing import Any

import falcon
import sqlalchemy as sa

from qinling import exceptions, states
from qinling.api import body, params
from qinling.api.deps import Deps
from qinling.api.v1 import targets, views
from qinling.context import RequestContext
from qinling.db import executions as db_executions
from qinling.db import models, queries

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
    """Accept an execution (a ``running`` row) and hand it to the engine."""
    with deps.db.transaction() as session:
        row = db_executions.accept(
            session,
            function_id=target.function_id,
            version=target.function_version,
            alias=target.function_alias,
            input=input,
            sync=sync,
            description=description,
        )
        execution_id = row.id
        timeout = session.get(models.Function, target.function_id).timeout
    deps.engine.create_execution(ctx, execution_id, sync=sync, timeout=timeout)
    return execution_id


class Executions:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        lp = params.list_params(req, max_limit=self.deps.max_limit)
        with self.deps.db.transaction() as session:
            rows = queries.list_rows(
                session, models.Execution, lp.scope, where=lp.filters, allowed=FILTERS, page=lp.page
            )
            resp.media = {"executions": [views.execution(r) for r in rows]}
        if link := params.next_link(req, lp.page, rows, self.deps.base_url(req)):
            resp.media["next"] = link

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = req.context.ctx
        data = body.read_json(req, CREATE_SCHEMA, max_size=self.deps.max_body)
        with self.deps.db.transaction() as session:
            target = targets.resolve(
                session,
                ctx,
                function_id=data.get("function_id"),
                function_version=data.get("function_version"),
                function_alias=data.get("function_alias"),
            )
        sync = data.get("sync")
        execution_id = start(
            self.deps,
            ctx,
            target,
            input=data.get("input"),
            sync=True if sync is None else sync,
            description=data.get("description"),
        )
        with self.deps.db.transaction() as session:
            resp.media = views.execution(session.get(models.Execution, execution_id))
        resp.status = falcon.HTTP_201


class Execution:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response, execution_id: str) -> None:
        with self.deps.db.transaction() as session:
            row = queries.get(session, models.Execution, execution_id, req.context.ctx, "Execution")
            resp.media = views.execution(row)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, execution_id: str) -> None:
        with self.deps.db.transaction() as session:
            row = queries.get(
                session,
                models.Execution,
                execution_id,
                req.context.ctx,
                "Execution",
                for_update=True,
            )
            if row.status == states.ExecutionStatus.RUNNING:
                raise exceptions.Conflict(
                    f"Execution {execution_id} is still running; wait until it ends."
                )
            session.execute(sa.delete(models.Execution).where(models.Execution.id == row.id))
        resp.status = falcon.HTTP_204


class ExecutionLog:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response, execution_id: str) -> None:
        with self.deps.db.transaction() as session:
            row = queries.get(session, models.Execution, execution_id, req.context.ctx, "Execution")
            resp.content_type = falcon.MEDIA_TEXT
            resp.text = row.logs or ""
