"""The execution hot path runs holding the process's work gate (``qinling.work_gate``).

Only the requests that start an execution are gated: ``POST /v1/executions``
and ``POST /v1/webhooks/{id}/invoke``. Their body is read before the gate is
taken, so that a slow client never holds it; a body of unknown or too large
a length is left to the app, ungated, to refuse or stream as usual. The app
lets the gate go wherever it waits (see ``work_gate``); it is given back for
good when the app returns its response, before cheroot writes it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable

from qinling.work_gate import GATE, WorkGate

_HOT_PATHS = re.compile(r"^/v1/(executions|webhooks/[^/]+/invoke)/?$")

WsgiApp = Callable[[dict, Callable], Iterable[bytes]]


def gated(app: WsgiApp, *, max_body: int, gate: WorkGate = GATE) -> WsgiApp:
    """``app``, with its execution-starting requests run holding ``gate``."""

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        if not _hot(environ, max_body):
            return app(environ, start_response)
        length = int(environ["CONTENT_LENGTH"] or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        with gate.held():
            return app(environ, start_response)

    return application


def _hot(environ: dict, max_body: int) -> bool:
    if environ.get("REQUEST_METHOD") != "POST":
        return False
    if not _HOT_PATHS.match(environ.get("PATH_INFO", "")):
        return False
    length = environ.get("CONTENT_LENGTH", "")
    return length.isdigit() and int(length) <= max_body
