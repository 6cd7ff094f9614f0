"""/v1/runtimes: the language environments functions run in."""

from __future__ import annotations

import falcon
import sqlalchemy as sa

from qinling import exceptions, states
from qinling.api import body, params
from qinling.api.deps import Deps
from qinling.api.v1 import views
from qinling.db import models, queries

CREATE_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": ["string", "null"], "maxLength": 255},
        "image": {"type": "string", "minLength": 1, "maxLength": 255},
        "description": {"type": ["string", "null"], "maxLength": 255},
        "is_public": {"type": "boolean"},
        "trusted": {"type": "boolean"},
    },
    "required": ["image"],
    "additionalProperties": False,
}
UPDATE_SCHEMA = {
    "type": "object",
    "properties": {
        k: v
        for k, v in CREATE_SCHEMA["properties"].items()
        if k in ("name", "image", "description")
    },
    "additionalProperties": False,
}
FILTERS = frozenset(
    {"name", "image", "status", "is_public", "trusted", "project_id", "created_at", "updated_at"}
)


class Runtimes:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params.respond_with_list(
            req,
            resp,
            self.deps,
            resource="runtime",
            model=models.Runtime,
            key="runtimes",
            allowed=FILTERS,
            view=views.runtime,
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = req.context.ctx
        self.deps.policy.enforce(ctx, "runtime:create")
        data = body.read_json(req, CREATE_SCHEMA, max_size=self.deps.max_body)
        with self.deps.db.transaction() as session:
            runtime = models.Runtime(
                name=data.get("name"),
                description=data.get("description"),
                image=data["image"],
                status=states.RuntimeStatus.CREATING,
                is_public=data.get("is_public", True),
                trusted=data.get("trusted", True),
                project_id=ctx.project_id,
            )
            session.add(runtime)
            session.flush()
            resp.media = views.runtime(runtime)
        self.deps.engine.create_runtime(ctx, runtime.id)
        resp.status = falcon.HTTP_201


class Runtime:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response, runtime_id: str) -> None:
        self.deps.policy.enforce(req.context.ctx, "runtime:get")
        with self.deps.db.transaction() as session:
            row = queries.get(session, models.Runtime, runtime_id, req.context.ctx, "Runtime")
            resp.media = views.runtime(row)

    def on_put(self, req: falcon.Request, resp: falcon.Response, runtime_id: str) -> None:
        ctx = req.context.ctx
        self.deps.policy.enforce(ctx, "runtime:update")
        data = body.read_json(req, UPDATE_SCHEMA, max_size=self.deps.max_body)
        with self.deps.db.transaction() as session:
            row = queries.get(session, models.Runtime, runtime_id, ctx, "Runtime")
            new_image = "image" in data and data["image"] != row.image
            if new_image:
                states.check_transition(
                    states.RUNTIME_TRANSITIONS,
                    row.status,
                    states.RuntimeStatus.UPGRADING,
                    what="The runtime",
                )
                row.status = states.RuntimeStatus.UPGRADING
            for field in ("name", "description", "image"):
                if field in data:
                    setattr(row, field, data[field])
            session.flush()
            resp.media = views.runtime(row)
        if new_image:
            self.deps.engine.update_runtime(ctx, runtime_id)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, runtime_id: str) -> None:
        ctx = req.context.ctx
        self.deps.policy.enforce(ctx, "runtime:delete")
        with self.deps.db.transaction() as session:
            row = queries.get(session, models.Runtime, runtime_id, ctx, "Runtime")
            in_use = queries.count(session, models.Function, models.Function.runtime_id == row.id)
            if in_use:
                raise exceptions.Conflict(
                    f"Runtime {runtime_id} is still used by {in_use} function(s); "
                    "delete them first."
                )
            session.execute(sa.delete(models.Runtime).where(models.Runtime.id == row.id))
        self.deps.engine.delete_runtime(ctx, runtime_id)
        resp.status = falcon.HTTP_204


class RuntimePool:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response, runtime_id: str) -> None:
        ctx = req.context.ctx
        self.deps.policy.enforce(ctx, "runtime_pool:get_all")
        with self.deps.db.transaction() as session:
            queries.get(session, models.Runtime, runtime_id, ctx, "Runtime")
        resp.media = self.deps.engine.get_runtime_pool(ctx, runtime_id)
