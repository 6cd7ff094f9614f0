"""/v1/functions/{id}/versions: immutable snapshots of a function."""

from __future__ import annotations

import falcon
import sqlalchemy as sa

from qinling import exceptions
from qinling.api import body
from qinling.api.deps import Deps
from qinling.api.v1 import views
from qinling.api.v1.function_rules import parse_version, stream_package
from qinling.api.v1.uploads import release_package
from qinling.context import RequestContext
from qinling.db import models, queries

CREATE_SCHEMA = {
    "type": "object",
    "properties": {"description": {"type": ["string", "null"], "maxLength": 255}},
    "additionalProperties": False,
}
SNAPSHOT_FIELDS = (
    "runtime_id",
    "memory_size",
    "cpu",
    "timeout",
    "code",
    "entry",
    "environment",
    "package_digest",
)


def _get_version(
    session, ctx: RequestContext, function_id: str, raw: str
) -> models.FunctionVersion:
    queries.get(session, models.Function, function_id, ctx, "Function")
    number = parse_version(raw)
    row = session.scalars(
        sa.select(models.FunctionVersion).where(
            models.FunctionVersion.function_id == function_id,
            models.FunctionVersion.version_number == number,
        )
    ).first()
    if row is None:
        raise exceptions.NotFound(f"Function {function_id} has no version {number}.")
    return row


class Versions:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response, function_id: str) -> None:
        ctx = req.context.ctx
        self.deps.policy.enforce(ctx, "function_version:get_all")
        with self.deps.db.transaction() as session:
            queries.get(session, models.Function, function_id, ctx, "Function")
            rows = session.scalars(
                sa.select(models.FunctionVersion)
                .where(models.FunctionVersion.function_id == function_id)
                .order_by(models.FunctionVersion.version_number)
            )
            resp.media = {"function_versions": [views.version(r) for r in rows]}

    def on_post(self, req: falcon.Request, resp: falcon.Response, function_id: str) -> None:
        ctx = req.context.ctx
        self.deps.policy.enforce(ctx, "function_version:create")
        data = body.read_json(req, CREATE_SCHEMA, max_size=self.deps.max_body, optional=True)
        with self.deps.db.transaction() as session:
            function = queries.get(
                session, models.Function, function_id, ctx, "Function", for_update=True
            )
            self._check_can_snapshot(session, function)
            function.latest_version += 1
            row = models.FunctionVersion(
                function_id=function.id,
                version_number=function.latest_version,
                description=data.get("description"),
                project_id=function.project_id,
                **{f: getattr(function, f) for f in SNAPSHOT_FIELDS},
            )
            session.add(row)
            session.flush()
            resp.media = views.version(row)
        resp.status = falcon.HTTP_201

    def _check_can_snapshot(self, session, function: models.Function) -> None:
        existing = queries.count(
            session, models.FunctionVersion, models.FunctionVersion.function_id == function.id
        )
        if existing >= self.deps.conf.engine.max_versions:
            raise exceptions.Conflict(
                f"Function {function.id} already has {existing} versions, the most allowed; "
                "delete an old one first."
            )
        last = session.scalars(
            sa.select(models.FunctionVersion)
            .where(models.FunctionVersion.function_id == function.id)
            .order_by(models.FunctionVersion.version_number.desc())
        ).first()
        if last is not None and all(
            getattr(last, f) == getattr(function, f) for f in SNAPSHOT_FIELDS
        ):
            raise exceptions.Conflict(
                f"Nothing changed since version {last.version_number} of function "
                f"{function.id}; update the function before creating a version."
            )


class Version:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(
        self, req: falcon.Request, resp: falcon.Response, function_id: str, version: str
    ) -> None:
        self.deps.policy.enforce(req.context.ctx, "function_version:get")
        download = body.parse_bool(req.get_param("download") or "false", "download")
        with self.deps.db.transaction() as session:
            row = _get_version(session, req.context.ctx, function_id, version)
            if not download:
                resp.media = views.version(row)
                return
            digest = row.package_digest
        stream_package(self.deps, resp, digest, f"{function_id}_v{version}")

    def on_delete(
        self, req: falcon.Request, resp: falcon.Response, function_id: str, version: str
    ) -> None:
        ctx = req.context.ctx
        self.deps.policy.enforce(ctx, "function_version:delete")
        with self.deps.db.transaction() as session:
            row = _get_version(session, ctx, function_id, version)
            _refuse_if_used(session, function_id, row.version_number)
            digest = row.package_digest
            session.delete(row)
        self.deps.engine.delete_function(ctx, function_id, row.version_number)
        release_package(self.deps, digest)
        resp.status = falcon.HTTP_204


def _refuse_if_used(session, function_id: str, number: int) -> None:
    for model, what in (
        (models.FunctionAlias, "an alias"),
        (models.Job, "a job"),
        (models.Webhook, "a webhook"),
    ):
        if queries.count(
            session, model, model.function_id == function_id, model.function_version == number
        ):
            raise exceptions.Conflict(
                f"Version {number} of function {function_id} is used by {what}; "
                "change or delete it first."
            )
    if queries.count(
        session,
        models.FunctionAlias,
        models.FunctionAlias.function_id == function_id,
        models.FunctionAlias.additional_version == number,
    ):
        raise exceptions.Conflict(
            f"Version {number} of function {function_id} is used by an alias."
        )
