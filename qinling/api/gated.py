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
        length = _hot_body_length(environ, max_body)
        if length is None:
            return app(environ, start_response)
        environ["wsgi.input"] = io.BytesIO(environ["wsgi.input"].read(length))
        with gate.held():
            return app(environ, start_response)

    return application


def _hot_body_length(environ: dict, max_body: int) -> int | None:
    """The body's length of a request to gate; None for any other."""
    if environ.get("REQUEST_METHOD") != "POST":
        return None
    if not _HOT_PATHS.match(environ.get("PATH_INFO", "")):
        return None
    length = environ.get("CONTENT_LENGTH", "")
    return int(length) if length.isdigit() and int(length) <= max_body else None
