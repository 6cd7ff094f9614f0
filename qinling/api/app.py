"""The API as a Falcon WSGI app, built from its collaborators."""

from __future__ import annotations

import falcon

from qinling.api import errors, invoker, middleware, openapi, policy, root, trusts, v1
from qinling.api.deps import Deps
from qinling.api.gated import gated


def create_app(
    conf,
    *,
    db,
    engine,
    storage,
    enforcer: policy.Enforcer | None = None,
    trust_store: trusts.TrustStore | None = None,
    extra_middleware: list | None = None,
    execution_invoker: invoker.Invoker | None = None,
):
    """The WSGI app: Falcon alone with ``noauth``, behind ``auth_token`` with ``keystone``.

    ``execution_invoker``: how executions run (see ``api.invoker``); by
    default accepted here and handed to ``engine``.
    """
    enforcer = enforcer or policy.Enforcer(conf)
    keystone = conf.auth_strategy == "keystone"
    if trust_store is None:
        trust_store = trusts.KeystoneTrusts(conf) if keystone else trusts.NoTrusts()
    deps = Deps(
        conf=conf,
        db=db,
        engine=engine,
        storage=storage,
        policy=enforcer,
        trusts=trust_store,
        invoker=execution_invoker or invoker.EngineInvoker(db, engine),
    )
    context = (
        middleware.KeystoneContext(enforcer.is_admin) if keystone else middleware.NoAuthContext()
    )
    app = falcon.App(middleware=[context, middleware.RefuseNul(), *(extra_middleware or [])])
    app.req_options.strip_url_path_trailing_slash = True
    app.req_options.auto_parse_qs_csv = False
    app.resp_options.secure_cookies_by_default = False
    errors.register(app)
    app.add_route("/", root.Root(deps))
    app.add_route("/v1", root.V1Root(deps))
    routes = v1.routes(deps)
    app.add_route("/v1/openapi.json", openapi.OpenAPIDocument(routes))
    for path, resource in routes:
        app.add_route(path, resource)
    # Inside auth_token: a token it validates with Keystone is no gated wait.
    hot_path_gated = gated(app, max_body=deps.max_body)
    return with_auth_token(hot_path_gated, conf) if keystone else hot_path_gated


def with_auth_token(app: falcon.App, conf):
    """keystonemiddleware in front of ``app``, configured by ``[keystone_authtoken]``.

    The decision is left to ``KeystoneContext`` (``delay_auth_decision``), so
    that public paths stay open and a refusal is this API's JSON 401.
    ``auth_token`` adds ``WWW-Authenticate`` to every 401.
    """
    from keystonemiddleware import auth_token

    protected = auth_token.AuthProtocol(
        app, {"oslo_config_config": conf, "delay_auth_decision": True}
    )

    def application(environ, start_response):
        return protected(environ, start_response)

    return application
