"""Every error becomes JSON in one place.

The body carries ``faultstring`` because that is what python-qinlingclient
shows its users, plus ``title`` and ``code`` for everyone else.
"""

from __future__ import annotations

import json
import logging

import falcon

from qinling import exceptions

LOG = logging.getLogger(__name__)


def _render(resp: falcon.Response, code: int, title: str, message: str) -> None:
    resp.status = code
    resp.content_type = falcon.MEDIA_JSON
    resp.text = json.dumps({"faultstring": message, "title": title, "code": code})


def handle_domain(
    req: falcon.Request, resp: falcon.Response, ex: exceptions.QinlingError, params: dict
) -> None:
    if ex.http_code >= 500:
        LOG.error("%s %s failed: %s", req.method, req.path, ex.message)
    _render(resp, ex.http_code, ex.title, ex.message)


def handle_http(
    req: falcon.Request, resp: falcon.Response, ex: falcon.HTTPError, params: dict
) -> None:
    _render(resp, ex.status_code, ex.title or "Error", _http_message(req, ex))
    for name, value in (ex.headers or {}).items():
        resp.set_header(name, value)


def _http_message(req: falcon.Request, ex: falcon.HTTPError) -> str:
    """What Falcon's own errors tell the client, with a hint when it says nothing."""
    if ex.description:
        # Falcon's specific titles ("Invalid header value") say what the
        # description is about; its default ones are just the status line.
        if ex.title and not ex.title[:1].isdigit():
            return f"{ex.title}: {ex.description}"
        return ex.description
    if isinstance(ex, falcon.HTTPMethodNotAllowed):
        allowed = (ex.headers or {}).get("Allow", "")
        return f"{req.method} is not allowed on {req.path}; allowed methods: {allowed}."
    if ex.status_code == 404:
        return f"There is no resource at {req.path}; /v1/openapi.json lists every path."
    return ex.title or "Request failed."


def handle_unexpected(
    req: falcon.Request, resp: falcon.Response, ex: Exception, params: dict
) -> None:
    request_id = getattr(req.context, "request_id", "-")
    LOG.exception("Unexpected error in %s %s (request %s)", req.method, req.path, request_id)
    _render(
        resp,
        500,
        "Internal Server Error",
        f"An unexpected error occurred; the operator can find request {request_id} "
        "in the service log.",
    )


def register(app: falcon.App) -> None:
    # Most specific last: Falcon picks the handler of the nearest base class.
    app.add_error_handler(Exception, handle_unexpected)
    app.add_error_handler(falcon.HTTPError, handle_http)
    app.add_error_handler(exceptions.QinlingError, handle_domain)
