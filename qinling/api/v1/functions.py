"""/v1/functions: upload, read, update, delete and scale functions."""

from __future__ import annotations

import json
from typing import Any

import falcon
import sqlalchemy as sa

from qinling import exceptions, states
from qinling.api import body, params
from qinling.api.deps import Deps
from qinling.api.v1 import uploads, views
from qinling.api.v1.function_rules import (
    available_runtime,
    check_code,
    check_limits,
    parse_version,
    stream_package,
)
from qinling.api.v1.uploads import release_package
from qinling.context import RequestContext
from qinling.db import executions as db_executions
from qinling.db import models, queries

ENTRY_PATTERN = r"^[A-Za-z_][A-Za-z0-9_\-]*(\.[A-Za-z_][A-Za-z0-9_\-]*)*\.[A-Za-z_$][A-Za-z0-9_$]*$"
CODE_SCHEMA = {
    "type": "object",
    "properties": {
        "source": {"enum": ["package", "swift", "image"]},
        "md5sum": {"type": "string", "pattern": "^[0-9a-fA-F]{32}$"},
        "swift": {
            "type": "object",
            "properties": {
                "container": {"type": "string", "minLength": 1},
                "object": {"type": "string", "minLength": 1},
            },
            "required": ["container", "object"],
        },
        "image": {"type": "string", "minLength": 1},
    },
    "required": ["source"],
}
FIELDS = {
    "name": {"type": ["string", "null"], "maxLength": 255},
    "description": {"type": ["string", "null"], "maxLength": 255},
    "runtime_id": {"type": ["string", "null"], "maxLength": 36},
    "code": CODE_SCHEMA,
    "entry": {"type": ["string", "null"], "maxLength": 255, "pattern": ENTRY_PATTERN},
    "cpu": {"type": "integer"},
    "memory_size": {"type": "integer"},
    "timeout": {"type": "integer"},
    "environment": {
        "type": "object",
        "additionalProperties": {"type": "string"},
        "maxProperties": 256,
    },
    "concurrency": {"type": ["integer", "null"], "minimum": 1},
}
CREATE_SCHEMA = {
    "type": "object",
    "properties": FIELDS,
    "required": ["code"],
    "additionalProperties": False,
}
# python-qinlingclient's update merges the code dict into the fields.
UPDATE_SCHEMA = {
    "type": "object",
    "properties": FIELDS
    | {
        "source": {"enum": ["package", "swift", "image"]},
        "swift": CODE_SCHEMA["properties"]["swift"],
        "md5sum": CODE_SCHEMA["properties"]["md5sum"],
    },
    "additionalProperties": False,
}
FILTERS = frozenset(
    {
        "name",
        "description",
        "runtime_id",
        "entry",
        "project_id",
        "count",
        "latest_version",
        "created_at",
        "updated_at",
        "cpu",
        "memory_size",
        "timeout",
    }
)
SCALE_SCHEMA = {
    "type": "object",
    "properties": {"count": {"type": "integer", "minimum": 1, "maximum": 1000}},
    "additionalProperties": False,
}


class Functions:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params.respond_with_list(
            req,
            resp,
            self.deps,
            resource="function",
            model=models.Function,
            key="functions",
            allowed=FILTERS,
            view=views.function,
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = req.context.ctx
        self.deps.policy.enforce(ctx, "function:create")
        upload = uploads.receive(req, self.deps, CREATE_SCHEMA)
        try:
            resp.media = self._create(ctx, upload)
        except exceptions.QinlingError:
            release_package(self.deps, upload.package and upload.package.digest)
            raise
        resp.status = falcon.HTTP_201

    def _create(self, ctx: RequestContext, upload: uploads.Upload) -> dict[str, Any]:
        check_limits(self.deps.conf, upload.fields)
        check_code(upload.fields["code"], upload, self.deps.conf.engine.orchestrator)
        trust_id = self.deps.trusts.create(ctx)
        try:
            return self._insert(ctx, upload, trust_id)
        except BaseException:
            self.deps.trusts.delete(ctx, trust_id)
            raise

    def _insert(
        self, ctx: RequestContext, upload: uploads.Upload, trust_id: str | None
    ) -> dict[str, Any]:
        data, limits = upload.fields, self.deps.conf.resource_limits
        with self.deps.db.transaction() as session:
            runtime_id = data.get("runtime_id")
            if data["code"]["source"] != "image" or runtime_id:
                runtime_id = available_runtime(session, ctx, runtime_id).id
            package = upload.package
            row = models.Function(
                name=data.get("name"),
                description=data.get("description"),
                runtime_id=runtime_id,
                entry=data.get("entry") or "main.main",
                code=json.dumps(data["code"] | ({"md5sum": package.md5} if package else {})),
                cpu=data.get("cpu") or limits.default_cpu,
                memory_size=data.get("memory_size") or limits.default_memory,
                timeout=data.get("timeout") or limits.default_timeout,
                environment=data.get("environment"),
                concurrency=data.get("concurrency"),
                package_digest=package.digest if package else None,
                package_size=package.size if package else None,
                project_id=ctx.project_id,
                trust_id=trust_id,
            )
            session.add(row)
            session.flush()
            return views.function(row)


class Function:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response, function_id: str) -> None:
        self.deps.policy.enforce(req.context.ctx, "function:get")
        download = body.parse_bool(req.get_param("download") or "false", "download")
        with self.deps.db.transaction() as session:
            row = queries.get(session, models.Function, function_id, req.context.ctx, "Function")
            if not download:
                resp.media = views.function(row)
                return
            digest = row.package_digest
        stream_package(self.deps, resp, digest, function_id)

    def on_put(self, req: falcon.Request, resp: falcon.Response, function_id: str) -> None:
        ctx = req.context.ctx
        self.deps.policy.enforce(ctx, "function:update")
        upload = uploads.receive(req, self.deps, UPDATE_SCHEMA)
        try:
            resp.media, old_digest = self._update(ctx, function_id, upload)
        except exceptions.QinlingError:
            release_package(self.deps, upload.package and upload.package.digest)
            raise
        if old_digest is not None:
            # New code: the old workers must not serve another execution.
            self.deps.engine.delete_function(ctx, function_id, 0)
            release_package(self.deps, old_digest)

    def _update(
        self, ctx: RequestContext, function_id: str, upload: uploads.Upload
    ) -> tuple[dict[str, Any], str | None]:
        data = upload.fields
        source = data.pop("source", None) or (data.get("code") or {}).get("source")
        md5 = data.pop("md5sum", None)
        data.pop("swift", None)
        data.pop("code", None)
        check_limits(self.deps.conf, data)
        with self.deps.db.transaction() as session:
            row = queries.get(
                session, models.Function, function_id, ctx, "Function", for_update=True
            )
            code = json.loads(row.code)
            if source and source != code.get("source"):
                raise exceptions.InputError(
                    f"A {code.get('source')} function cannot become a {source} function."
                )
            if upload.package is not None and code.get("source") != "package":
                raise exceptions.InputError("Only package functions take a new package.")
            if upload.package is not None and md5 and md5.lower() != upload.package.md5:
                raise exceptions.InputError("The package's md5 does not match md5sum.")
            if "runtime_id" in data and data["runtime_id"] != row.runtime_id:
                data["runtime_id"] = available_runtime(session, ctx, data["runtime_id"]).id
            for field in (
                "name",
                "description",
                "runtime_id",
                "entry",
                "cpu",
                "memory_size",
                "timeout",
                "environment",
                "concurrency",
            ):
                if field in data and (
                    data[field] is not None or field in ("description", "concurrency", "name")
                ):
                    setattr(row, field, data[field])
            old_digest = None
            if upload.package is not None and upload.package.digest != row.package_digest:
                old_digest = row.package_digest or ""
                row.package_digest = upload.package.digest
                row.package_size = upload.package.size
                row.code = json.dumps(code | {"md5sum": upload.package.md5})
            row.updated_at = models.utcnow()
            session.flush()
            return views.function(row), old_digest

    def on_delete(self, req: falcon.Request, resp: falcon.Response, function_id: str) -> None:
        ctx = req.context.ctx
        self.deps.policy.enforce(ctx, "function:delete")
        with self.deps.db.transaction() as session:
            row = queries.get(
                session, models.Function, function_id, ctx, "Function", for_update=True
            )
            _refuse_if_used(session, function_id)
            trust_id = row.trust_id
            digests = {row.package_digest} | set(
                session.scalars(
                    sa.select(models.FunctionVersion.package_digest).where(
                        models.FunctionVersion.function_id == function_id
                    )
                )
            )
            session.execute(
                sa.delete(models.FunctionVersion).where(
                    models.FunctionVersion.function_id == function_id
                )
            )
            session.delete(row)
        self.deps.engine.delete_function(ctx, function_id, None)
        self.deps.trusts.delete(ctx, trust_id)
        for digest in digests:
            release_package(self.deps, digest)
        resp.status = falcon.HTTP_204


def _refuse_if_used(session, function_id: str) -> None:
    users = {
        "alias(es)": queries.count(
            session, models.FunctionAlias, models.FunctionAlias.function_id == function_id
        ),
        "webhook(s)": queries.count(
            session, models.Webhook, models.Webhook.function_id == function_id
        ),
        "job(s)": queries.count(
            session,
            models.Job,
            models.Job.function_id == function_id,
            models.Job.status.in_([states.JobStatus.RUNNING, states.JobStatus.PAUSED]),
        ),
    }
    used = [f"{n} {what}" for what, n in users.items() if n]
    if used:
        raise exceptions.Conflict(
            f"Function {function_id} is still used by {', '.join(used)}; delete them first."
        )


class FunctionAction:
    """detach, scale_up, scale_down of a function or one of its versions."""

    def __init__(self, deps: Deps, action: str, *, versioned: bool = False) -> None:
        self.deps = deps
        self.action = action
        self.versioned = versioned

    def on_post(
        self,
        req: falcon.Request,
        resp: falcon.Response,
        function_id: str,
        version: str | None = None,
    ) -> None:
        ctx = req.context.ctx
        kind = "function_version" if self.versioned else "function"
        self.deps.policy.enforce(ctx, f"{kind}:{self.action}")
        number = resolve_version(self.deps, ctx, function_id, version)
        if self.action == "detach":
            self.deps.engine.delete_function(ctx, function_id, number)
        else:
            data = body.read_json(req, SCALE_SCHEMA, max_size=self.deps.max_body, optional=True)
            count = data.get("count", 1)
            getattr(self.deps.engine, self.action)(ctx, function_id, number, count)
        resp.status = falcon.HTTP_202


def resolve_version(deps: Deps, ctx: RequestContext, function_id: str, version: str | None) -> int:
    """Check the function (and version) exist for ``ctx``; the version number."""
    with deps.db.transaction() as session:
        queries.get(session, models.Function, function_id, ctx, "Function")
        if version is None:
            return 0
        number = parse_version(version)
        if number:
            db_executions.check_version(session.connection(), function_id, number)
        return number


class FunctionWorkers:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response, function_id: str) -> None:
        ctx = req.context.ctx
        self.deps.policy.enforce(ctx, "function_worker:get_all")
        resolve_version(self.deps, ctx, function_id, None)
        resp.media = {"workers": self.deps.engine.list_workers(ctx, function_id, None)}
