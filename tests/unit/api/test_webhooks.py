"""/v1/webhooks: URLs anyone may POST to, optionally signed with a secret."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlsplit

import pytest

from tests.unit.api.conftest import P1

SECRET = "s3cret-s3cret-s3cret"


def _webhook(api, **fields) -> dict:
    created = api.post("/v1/webhooks", json=fields, headers=P1)
    assert created.status_code == 201, created.text
    return created.json


def _sign(payload: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def _finished(api, execution_id: str) -> dict:
    return api.wait_for(
        f"/v1/executions/{execution_id}", lambda e: e["status"] != "running", headers=P1
    )


def test_webhook_has_an_invoke_url(api, function):
    hook = _webhook(api, function_id=function["id"], description="ci")

    assert urlsplit(hook["webhook_url"]).path == f"/v1/webhooks/{hook['id']}/invoke"
    assert hook["signed"] is False
    assert (hook["function_id"], hook["function_version"]) == (function["id"], 0)
    assert api.get(f"/v1/webhooks/{hook['id']}", headers=P1).json == hook


def test_webhook_url_uses_public_url(api, function):
    api.conf.set_override("public_url", "https://faas.example.com:8443", group="api")
    hook = _webhook(api, function_id=function["id"])

    assert hook["webhook_url"] == f"https://faas.example.com:8443/v1/webhooks/{hook['id']}/invoke"


def test_invoke_without_auth_runs_the_function_with_the_body(api, function):
    hook = _webhook(api, function_id=function["id"])
    payload = json.dumps({"name": "hook"})

    invoked = api.post(
        f"/v1/webhooks/{hook['id']}/invoke",
        body=payload,
        headers={"Content-Type": "application/json"},
    )

    assert invoked.status_code == 202
    execution = _finished(api, invoked.json["execution_id"])
    assert json.loads(execution["input"]) == {"name": "hook"}
    assert json.loads(execution["result"])["output"] == "hello hook"
    assert execution["description"] == f"Created by Webhook {hook['id']}"
    assert execution["project_id"] == "p1"


def test_invoke_passes_query_parameters_too(api, function):
    hook = _webhook(api, function_id=function["id"])

    invoked = api.post(f"/v1/webhooks/{hook['id']}/invoke", params={"name": "query"}, body="")

    execution = _finished(api, invoked.json["execution_id"])
    assert json.loads(execution["input"]) == {"name": "query"}
    assert json.loads(execution["result"])["output"] == "hello query"


def test_invoke_through_alias(api, function):
    alias = api.post(
        "/v1/aliases", json={"name": "live", "function_id": function["id"]}, headers=P1
    )
    assert alias.status_code == 201
    hook = _webhook(api, function_alias="live")

    invoked = api.post(f"/v1/webhooks/{hook['id']}/invoke", body="{}")

    assert invoked.status_code == 202
    assert _finished(api, invoked.json["execution_id"])["function_alias"] == "live"


def test_signed_webhook_accepts_a_good_signature(api, function):
    hook = _webhook(api, function_id=function["id"], secret=SECRET)
    payload = b'{"name": "signed"}'

    invoked = api.post(
        f"/v1/webhooks/{hook['id']}/invoke",
        body=payload,
        headers={"X-Qinling-Signature": _sign(payload)},
    )

    assert hook["signed"] is True
    assert invoked.status_code == 202
    assert "secret" not in hook


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        _sign(b'{"name": "other"}'),
        _sign(b'{"name": "signed"}', secret="wrong-secret-wrong-secret"),
        "sha1=" + hmac.new(SECRET.encode(), b'{"name": "signed"}', hashlib.sha1).hexdigest(),
    ],
    ids=["missing", "empty", "other-body", "other-secret", "sha1"],
)
def test_signed_webhook_refuses_a_bad_signature(api, function, signature):
    hook = _webhook(api, function_id=function["id"], secret=SECRET)
    headers = {} if signature is None else {"X-Qinling-Signature": signature}

    refused = api.post(
        f"/v1/webhooks/{hook['id']}/invoke", body=b'{"name": "signed"}', headers=headers
    )

    assert refused.status_code == 401
    assert "X-Qinling-Signature" in refused.json["faultstring"]
    assert api.get("/v1/executions", headers=P1).json["executions"] == []


def test_short_secret_is_refused(api, function):
    refused = api.post(
        "/v1/webhooks", json={"function_id": function["id"], "secret": "short"}, headers=P1
    )

    assert refused.status_code == 400
    assert "secret" in refused.json["faultstring"]


def test_update_webhook(api, function):
    hook = _webhook(api, function_id=function["id"])

    updated = api.put(
        f"/v1/webhooks/{hook['id']}", json={"description": "new", "secret": SECRET}, headers=P1
    )

    assert updated.status_code == 200
    assert (updated.json["description"], updated.json["signed"]) == ("new", True)


def test_invoke_unknown_webhook_is_not_found(api):
    missing = api.post("/v1/webhooks/5f0e1a5e-0000-4000-8000-000000000000/invoke", body="{}")

    assert missing.status_code == 404
    assert "Webhook" in missing.json["faultstring"]


def test_delete_webhook(api, function):
    hook = _webhook(api, function_id=function["id"])

    assert api.delete(f"/v1/webhooks/{hook['id']}", headers=P1).status_code == 204
    assert api.post(f"/v1/webhooks/{hook['id']}/invoke", body="{}").status_code == 404
    assert api.get("/v1/webhooks", headers=P1).json["webhooks"] == []
