"""/v1/webhooks: URLs that run a function when anything POSTs to them."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

import falcon
import sqlalchemy as sa

from qinling import exceptions
from qinling.api import body, params
from qinling.api.deps import Deps
from qinling.api.v1 import executions, targets, views
from qinling.context import RequestContext
from qinling.db import models, queries

PROPS = {
    "function_id": {"type": ["string", "null"], "maxLength": 36},
    "function_version": body.VERSION_NUMBER,
    "function_alias": {"type": ["string", "null"], "maxLength": 255},
    "description": {"type": ["string", "null"], "maxLength": 255},
    "secret": {"type": ["string", "null"], "minLength": 16, "maxLength": 255},
}
CREATE_SCHEMA = {"type": "object", "properties": PROPS, "additionalProperties": False}
UPDATE_SCHEMA = CREATE_SCHEMA
# python-qinlingclient sends these as null when the user did not give them.
CLIENT_UPDATE_FIELDS = frozenset(
    {"function_id", "function_version", "function_alias", "description"}
)
FILTERS = frozenset(
    {"function_id", "function_alias", "function_version", "description", "project_id", "created_at"}
)
SIGNATURE_HEADER = "X-Qinling-Signature"


def signature(secret: str, payload: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


class Webhooks:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        params.respond_with_list(
            req,
            resp,
            self.deps,
            resource="webhook",
            model=models.Webhook,
            key="webhooks",
            allowed=FILTERS,
            view=lambda row: views.webhook(row, self.deps.base_url(req)),
        )

    def on_post(self, req: falcon.Request, resp: falcon.Response) -> None:
        ctx = req.context.ctx
        self.deps.policy.enforce(ctx, "webhook:create")
        data = body.read_json(req, CREATE_SCHEMA, max_size=self.deps.max_body)
        with self.deps.db.transaction() as session:
            target = targets.resolve(
                session,
                ctx,
                function_id=data.get("function_id"),
                function_version=data.get("function_version"),
                function_alias=data.get("function_alias"),
            )
            row = models.Webhook(
                function_id=target.function_id,
                function_version=target.function_version,
                function_alias=target.function_alias,
                description=data.get("description"),
                secret=data.get("secret"),
                project_id=ctx.project_id,
                trust_id=targets.owner_trust(session, target.function_id),
            )
            session.add(row)
            session.flush()
            resp.media = views.webhook(row, self.deps.base_url(req))
        resp.status = falcon.HTTP_201


class Webhook:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response, webhook_id: str) -> None:
        self.deps.policy.enforce(req.context.ctx, "webhook:get")
        with self.deps.db.transaction() as session:
            row = queries.get(session, models.Webhook, webhook_id, req.context.ctx, "Webhook")
            resp.media = views.webhook(row, self.deps.base_url(req))

    def on_put(self, req: falcon.Request, resp: falcon.Response, webhook_id: str) -> None:
        ctx = req.context.ctx
        self.deps.policy.enforce(ctx, "webhook:update")
        data = body.read_json(
            req, UPDATE_SCHEMA, max_size=self.deps.max_body, unchanged_if_null=CLIENT_UPDATE_FIELDS
        )
        with self.deps.db.transaction() as session:
            row = queries.get(session, models.Webhook, webhook_id, ctx, "Webhook", for_update=True)
            self._retarget(session, ctx, row, data)
            if "description" in data:
                row.description = data["description"]
            if "secret" in data:
                row.secret = data["secret"]
            row.updated_at = models.utcnow()
            session.flush()
            resp.media = views.webhook(row, self.deps.base_url(req))

    @staticmethod
    def _retarget(session, ctx: RequestContext, row: models.Webhook, data: dict) -> None:
        keys = ("function_id", "function_version", "function_alias")
        if not any(data.get(k) is not None for k in keys):
            return
        alias = data.get("function_alias")
        target = targets.resolve(
            session,
            ctx,
            function_id=data.get("function_id") or row.function_id,
            function_version=data.get("function_version", row.function_version),
            function_alias=alias,
        )
        row.function_id = target.function_id
        row.function_version = target.function_version
        row.function_alias = target.function_alias
        row.trust_id = targets.owner_trust(session, target.function_id)

    def on_delete(self, req: falcon.Request, resp: falcon.Response, webhook_id: str) -> None:
        self.deps.policy.enforce(req.context.ctx, "webhook:delete")
        with self.deps.db.transaction() as session:
            row = queries.get(session, models.Webhook, webhook_id, req.context.ctx, "Webhook")
            session.execute(sa.delete(models.Webhook).where(models.Webhook.id == row.id))
        resp.status = falcon.HTTP_204


class WebhookInvoke:
    """``POST /v1/webhooks/{id}/invoke``: no token; runs as the webhook's owner."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_post(self, req: falcon.Request, resp: falcon.Response, webhook_id: str) -> None:
        raw = body._read_bounded(req, self.deps.max_body)
        with self.deps.db.transaction() as session:
            row = session.get(models.Webhook, webhook_id)
            if row is None:
                raise exceptions.NotFound.of("Webhook", webhook_id)
            owner = RequestContext(
                project_id=row.project_id, trust_id=row.trust_id, request_id=req.context.request_id
            )
            secret = row.secret
            target = targets.Target(row.function_id, row.function_version, row.function_alias)
        if secret:
            self._check_signature(req, secret, raw)
        execution_id = executions.start(
            self.deps,
            owner,
            target,
            input=_input(req, raw),
            sync=False,
            description=f"Created by Webhook {webhook_id}",
        )
        resp.media = {"execution_id": execution_id}
        resp.status = falcon.HTTP_202

    @staticmethod
    def _check_signature(req: falcon.Request, secret: str, raw: bytes) -> None:
        given = req.get_header(SIGNATURE_HEADER) or ""
        if not secrets.compare_digest(given, signature(secret, raw)):
            raise exceptions.Unauthorized(
                f"This webhook needs a valid {SIGNATURE_HEADER} header: 'sha256=' and the "
                "hex HMAC-SHA256 of the body with the webhook's secret."
            )


def _input(req: falcon.Request, raw: bytes) -> dict | str | None:
    """Query parameters and the JSON body become the function's input."""
    data: dict = {k: v for k, v in req.params.items()}
    if raw.strip():
        try:
            decoded = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            decoded = raw.decode("utf-8", "replace")
        if isinstance(decoded, dict):
            data.update(decoded)
        elif not data:
            return decoded if isinstance(decoded, str) else json.dumps(decoded)
        else:
            data["body"] = decoded
    return data or None
