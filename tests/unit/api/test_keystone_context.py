"""KeystoneContext: identity only from what auth_token confirmed."""

from __future__ import annotations

import falcon
import falcon.testing
import pytest

from qinling.api import errors, middleware


class WhoAmI:
    def on_get(self, req, resp, **_):
        ctx = req.context.ctx
        resp.media = {
            "project": ctx.project_id,
            "user": ctx.user_id,
            "roles": list(ctx.roles),
            "admin": ctx.is_admin,
            "token": ctx.auth_token,
        }

    on_post = on_get


@pytest.fixture
def client() -> falcon.testing.TestClient:
    app = falcon.App(middleware=[middleware.KeystoneContext(lambda ctx: "admin" in ctx.roles)])
    errors.register(app)
    for path in ("/v1/functions", "/", "/v1", "/v1/webhooks/{webhook_id}/invoke"):
        app.add_route(path, WhoAmI())
    return falcon.testing.TestClient(app)


CONFIRMED = {
    "X-Identity-Status": "Confirmed",
    "X-Project-Id": "p1",
    "X-User-Id": "u1",
    "X-Roles": "member,reader",
    "X-Auth-Token": "tok",
}


def test_a_confirmed_token_makes_the_caller(client):
    seen = client.simulate_get("/v1/functions", headers=CONFIRMED).json
    assert seen == {
        "project": "p1",
        "user": "u1",
        "roles": ["member", "reader"],
        "admin": False,
        "token": "tok",
    }


def test_admin_comes_from_the_policy(client):
    seen = client.simulate_get("/v1/functions", headers=CONFIRMED | {"X-Roles": "admin"}).json
    assert seen["admin"] is True


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Project-Id": "p1", "X-Roles": "admin"},  # no Confirmed: headers are not trusted
        CONFIRMED | {"X-Identity-Status": "Invalid"},
        {k: v for k, v in CONFIRMED.items() if k != "X-Project-Id"},  # unscoped
    ],
)
def test_anything_else_is_401_json(client, headers):
    result = client.simulate_get("/v1/functions", headers=headers)
    assert result.status_code == 401
    assert "Keystone token" in result.json["faultstring"]


def test_public_paths_need_no_identity(client):
    assert client.simulate_get("/").status_code == 200
    assert client.simulate_get("/v1").status_code == 200
    invoked = client.simulate_post("/v1/webhooks/w1/invoke")
    assert invoked.status_code == 200
    assert invoked.json["admin"] is False and invoked.json["project"] == ""
    assert client.simulate_get("/v1/webhooks/w1/invoke").status_code == 401
