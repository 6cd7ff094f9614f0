"""Request context: who is calling, and a request id for every log line."""

from __future__ import annotations

import logging

import falcon

from qinling import exceptions
from qinling.context import RequestContext, new_request_id

LOG = logging.getLogger(__name__)

# Paths that never need a token: version documents and webhook invocation.
PUBLIC_PATHS = ("/", "/v1", "/v1/", "/openapi.json", "/v1/openapi.json")


def is_public(req: falcon.Request) -> bool:
    path = req.path.rstrip("/") or "/"
    if path in PUBLIC_PATHS:
        return True
    return req.method == "POST" and path.startswith("/v1/webhooks/") and path.endswith("/invoke")


class RefuseNul:
    """PostgreSQL cannot store or compare text holding NUL; refuse it up front."""

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        if "\x00" in req.path or "%00" in req.query_string:
            raise exceptions.InputError("The URL holds a NUL character (%00); remove it.")


class NoAuthContext:
    """Identity from headers, for ``auth_strategy = noauth``.

    A request with no ``X-Project-Id`` comes from the host's own operator:
    project ``default`` with admin rights, so the CLI with
    ``--os-auth-type none`` can manage runtimes. A request naming a project
    acts as that project, admin only with ``X-Roles: admin``.
    """

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        project = req.get_header("X-Project-Id")
        roles = tuple(r.strip() for r in (req.get_header("X-Roles") or "").split(",") if r.strip())
        if project is None:
            roles = roles or ("admin",)
        req.context.ctx = RequestContext(
            project_id=project or "default",
            user_id=req.get_header("X-User-Id"),
            roles=roles,
            is_admin="admin" in roles,
            request_id=req.get_header("X-Openstack-Request-Id") or new_request_id(),
        )
        req.context.request_id = req.context.ctx.request_id

    def process_response(
        self, req: falcon.Request, resp: falcon.Response, resource, req_succeeded: bool
    ) -> None:
        request_id = getattr(req.context, "request_id", None)
        if request_id:
            resp.set_header("X-Openstack-Request-Id", request_id)
