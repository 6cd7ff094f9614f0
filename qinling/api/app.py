"""The API as a Falcon WSGI app, built from its collaborators."""

from __future__ import annotations

import falcon

from qinling.api import errors, middleware, openapi, root, v1
from qinling.api.deps import Deps


def create_app(conf, *, db, engine, storage, extra_middleware: list | None = None) -> falcon.App:
    deps = Deps(conf=conf, db=db, engine=engine, storage=storage)
    app = falcon.App(
        middleware=[
            middleware.NoAuthContext(),
            middleware.RefuseNul(),
            *(extra_middleware or []),
        ]
    )
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
    return app
