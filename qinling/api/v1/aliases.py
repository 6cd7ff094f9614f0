"""/v1/aliases: stable names for a function version."""

from __future__ import annotations

import falcon
import sqlalchemy as sa

from qinling import exceptions
from qinling.api import body, params
from qinling.api.deps import Deps
from qinling.api.v1 import targets, views
from qinling.context import RequestContext
from qinling.db import models, queries

PROPS = {
    "function_id": {"type": "string", "maxLength": 36},
    "function_version": body.VERSION_NUMBER,
    "description": {"type": ["string", "null"], "maxLength": 255},
    "additional_version": body.VERSION_NUMBER,
    "additional_weight": {"type": ["integer", "null"], "minimum": 0, "maximum": 100},
}
CREATE_SCHEMA = {
    "type": "object",
    "properties": PROPS
    | {"name": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": r"^[^/\s]+$"}},
    "required": ["name", "function_id"],
    "additionalProperties": False,
}
UPDATE_SCHEMA = {
    "type": "object",
    "properties": PROPS | {"function_id": {"type": ["string", "null"], "maxLength": 36}},
    "additionalProperties": False,
}
# python-qinlingclient sends these as null when the user did not give them.
CLIENT_UPDATE_FIELDS = frozenset({"function_id", "function_version", "description"})
FILTERS = frozenset(
    {"name", "function_id", "function_version", "project_id", "description", "created_at"}
)


def _check_weights(session, ctx: RequestContext, row: models.FunctionAlias) -> None:
    targets.resolve(
        session,
        ctx,
        function_id=row.function_id,
        function_version=row.function_version,
        function_alias=None,
    )
    if row.additional_version is not None:
        if row.additional_weight is None:
            raise exceptions.InputError("additional_version needs additional_weight (0-100).")
        targets.resolve(
            session,
            ctx,
            function_id=row.function_id,
            function_version=row.additional_version,
            function_alias=None,
        )


class Aliases:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params.respond_with_list(
            req,
            resp,
            self.deps,
            resource="function_alias",
            model=models.FunctionAlias,
            key="function_aliases",
            allowed=FILTERS,
            view=views.alias,
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = req.context.ctx
        self.deps.policy.enforce(ctx, "function_alias:create")
        data = body.read_json(req, CREATE_SCHEMA, max_size=self.deps.max_body)
        with self.deps.db.transaction() as session:
            if queries.find(session, models.FunctionAlias, ctx, name=data["name"]):
                raise exceptions.Conflict(f"Alias {data['name']} already exists.")
            row = models.FunctionAlias(
                name=data["name"],
                function_id=data["function_id"],
                function_version=data.get("function_version") or 0,
                description=data.get("description"),
                additional_version=data.get("additional_version"),
                additional_weight=data.get("additional_weight"),
                project_id=ctx.project_id,
            )
            _check_weights(session, ctx, row)
            session.add(row)
            session.flush()
            resp.media = views.alias(row)
        resp.status = falcon.HTTP_201


class Alias:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        self.deps.policy.enforce(req.context.ctx, "function_alias:get")
        with self.deps.db.transaction() as session:
            resp.media = views.alias(targets.get_alias(session, req.context.ctx, name))

    def on_put(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        ctx = req.context.ctx
        self.deps.policy.enforce(ctx, "function_alias:update")
        data = body.read_json(
            req, UPDATE_SCHEMA, max_size=self.deps.max_body, unchanged_if_null=CLIENT_UPDATE_FIELDS
        )
        with self.deps.db.transaction() as session:
            row = targets.get_alias(session, ctx, name)
            for field, value in data.items():
                if value is not None or field in (
                    "description",
                    "additional_version",
                    "additional_weight",
                ):
                    setattr(row, field, value)
            _check_weights(session, ctx, row)
            row.updated_at = models.utcnow()
            session.flush()
            resp.media = views.alias(row)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, name: str) -> None:
        ctx = req.context.ctx
        self.deps.policy.enforce(ctx, "function_alias:delete")
        with self.deps.db.transaction() as session:
            row = targets.get_alias(session, ctx, name)
            for model, what in ((models.Job, "job"), (models.Webhook, "webhook")):
                if queries.count(
                    session, model, model.function_alias == name, model.project_id == row.project_id
                ):
                    raise exceptions.Conflict(f"Alias {name} is used by a {what}; delete it first.")
            session.execute(
                sa.delete(models.FunctionAlias).where(models.FunctionAlias.id == row.id)
            )
        resp.status = falcon.HTTP_204
