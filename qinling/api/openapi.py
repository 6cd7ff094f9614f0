"""An OpenAPI 3 document of the whole API, built from the route list.

Paths and methods come from the routes themselves, request bodies from the
same JSON schemas the resources validate with, so the document cannot
drift from what the service accepts.
"""

from __future__ import annotations

import re
from typing import Any

import falcon

from qinling.api.v1 import aliases, executions, functions, jobs, runtimes, versions, webhooks

METHODS = ("get", "post", "put", "delete")
JSON_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("/v1/runtimes", "post"): runtimes.CREATE_SCHEMA,
    ("/v1/runtimes/{runtime_id}", "put"): runtimes.UPDATE_SCHEMA,
    ("/v1/functions/{function_id}/scale_up", "post"): functions.SCALE_SCHEMA,
    ("/v1/functions/{function_id}/scale_down", "post"): functions.SCALE_SCHEMA,
    ("/v1/functions/{function_id}/versions", "post"): versions.CREATE_SCHEMA,
    ("/v1/functions/{function_id}/versions/{version}/scale_up", "post"): functions.SCALE_SCHEMA,
    ("/v1/functions/{function_id}/versions/{version}/scale_down", "post"): functions.SCALE_SCHEMA,
    ("/v1/aliases", "post"): aliases.CREATE_SCHEMA,
    ("/v1/aliases/{name}", "put"): aliases.UPDATE_SCHEMA,
    ("/v1/executions", "post"): executions.CREATE_SCHEMA,
    ("/v1/jobs", "post"): jobs.CREATE_SCHEMA,
    ("/v1/jobs/{job_id}", "put"): jobs.UPDATE_SCHEMA,
    ("/v1/webhooks", "post"): webhooks.CREATE_SCHEMA,
    ("/v1/webhooks/{webhook_id}", "put"): webhooks.UPDATE_SCHEMA,
}
FORM_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("/v1/functions", "post"): functions.CREATE_SCHEMA,
    ("/v1/functions/{function_id}", "put"): functions.UPDATE_SCHEMA,
}
SUCCESS = {"post": "201", "put": "200", "get": "200", "delete": "204"}
ACCEPTED_POSTS = ("/detach", "/scale_up", "/scale_down", "/invoke")
LIST_QUERY = ("limit", "marker", "sort_key", "sort_dir", "all_projects", "project_id")


def build(routes: list[tuple[str, Any]]) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for path, resource in routes:
        operations = {m: _operation(path, m) for m in METHODS if hasattr(resource, f"on_{m}")}
        if operations:
            paths[path] = operations
    return {
        "openapi": "3.0.3",
        "info": {"title": "Qinling Function-as-a-Service API", "version": "1.0"},
        "paths": paths,
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {
                        "faultstring": {"type": "string"},
                        "title": {"type": "string"},
                        "code": {"type": "integer"},
                    },
                }
            }
        },
    }


def _operation(path: str, method: str) -> dict[str, Any]:
    code = SUCCESS[method]
    if method == "post" and path.endswith(ACCEPTED_POSTS):
        code = "202"
    op: dict[str, Any] = {
        "operationId": f"{method}_{re.sub(r'[^a-z0-9]+', '_', path.lower()).strip('_')}",
        "parameters": [
            {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            for name in re.findall(r"{(\w+)}", path)
        ],
        "responses": {code: {"description": "Success"}}
        | {
            err: {
                "description": "Error",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
            for err in ("400", "401", "403", "404", "409", "413")
        },
    }
    if method == "get" and "{" not in path.rsplit("/", 1)[-1]:
        op["parameters"] += [
            {"name": q, "in": "query", "required": False, "schema": {"type": "string"}}
            for q in LIST_QUERY
        ]
    if (path, method) in JSON_BODIES:
        op["requestBody"] = {
            "required": method == "post" and "scale" not in path,
            "content": {"application/json": {"schema": _openapi_schema(JSON_BODIES[path, method])}},
        }
    if (path, method) in FORM_BODIES:
        schema = _openapi_schema(FORM_BODIES[path, method])
        multipart = {
            "type": "object",
            "properties": dict(schema.get("properties", {}))
            | {"package": {"type": "string", "format": "binary"}},
        }
        op["requestBody"] = {
            "required": method == "post",
            "content": {
                "multipart/form-data": {"schema": multipart},
                "application/json": {"schema": schema},
            },
        }
    return op


def _openapi_schema(schema: Any) -> Any:
    """JSON Schema 2020-12 to OpenAPI 3.0: type lists become nullable."""
    if isinstance(schema, list):
        return [_openapi_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _openapi_schema(v) for k, v in schema.items()}
    types = out.get("type")
    if isinstance(types, list):
        non_null = [t for t in types if t != "null"]
        if len(non_null) == 1:
            out["type"] = non_null[0]
        else:
            out.pop("type")
            out["anyOf"] = [{"type": t} for t in non_null]
        if "null" in types:
            out["nullable"] = True
    if "enum" in out and None not in out["enum"]:
        out["enum"] = [str(v) for v in out["enum"]]
    return out


class OpenAPIDocument:
    def __init__(self, routes: list[tuple[str, Any]] | None = None) -> None:
        self._routes = routes
        self._doc: dict[str, Any] | None = None

    def set_routes(self, routes: list[tuple[str, Any]]) -> None:
        self._routes = routes
        self._doc = None

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        if self._doc is None:
            self._doc = build(self._routes or [])
        resp.media = self._doc
