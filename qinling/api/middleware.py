"""Request context: who is calling, and a request id for every log line."""

from __future__ import annotations

import dataclasses
import email.utils
import logging
import time
from collections.abc import Callable

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
    acts as a member of that project, admin only with ``X-Roles: admin``.
    """

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        project = req.get_header("X-Project-Id")
        roles = _roles(req)
        if project is None:
            roles = roles or ("admin",)
        roles = roles or ("member", "reader")
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
        resp.set_header("Date", _HTTP_DATE.now())


class HttpDate:
    """The ``Date`` header, formatted once a second: cheroot formats it for
    every response that has none (about 6 us, measured), and it only
    changes once a second."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._second = -1
        self._text = ""

    def now(self) -> str:
        second = int(self._clock())
        if second != self._second:  # threads racing here write the same text
            self._text = email.utils.formatdate(second, usegmt=True)
            self._second = second
        return self._text


_HTTP_DATE = HttpDate()


class KeystoneContext(NoAuthContext):
    """Identity from the headers keystonemiddleware's ``auth_token`` sets.

    ``auth_token`` runs with ``delay_auth_decision``: it strips identity
    headers a client sent, validates the token and says how that went in
    ``X-Identity-Status``. Only ``Confirmed`` makes a caller; public paths
    (version documents, webhook invocation) need none.
    """

    def __init__(self, is_admin: Callable[[RequestContext], bool]) -> None:
        self._is_admin = is_admin

    def process_request(self, req: falcon.Request, resp: falcon.Response) -> None:
        request_id = req.get_header("X-Openstack-Request-Id") or new_request_id()
        req.context.request_id = request_id
        if is_public(req):
            req.context.ctx = RequestContext(project_id="", request_id=request_id)
            return
        if req.get_header("X-Identity-Status") != "Confirmed" or not req.get_header("X-Project-Id"):
            raise exceptions.Unauthorized(
                "This request needs a valid project-scoped Keystone token in X-Auth-Token."
            )
        ctx = RequestContext(
            project_id=req.get_header("X-Project-Id"),
            user_id=req.get_header("X-User-Id"),
            roles=_roles(req),
            auth_token=req.get_header("X-Auth-Token"),
            request_id=request_id,
        )
        req.context.ctx = dataclasses.replace(ctx, is_admin=self._is_admin(ctx))


def _roles(req: falcon.Request) -> tuple[str, ...]:
    return tuple(r.strip() for r in (req.get_header("X-Roles") or "").split(",") if r.strip())
