"""Only the requests that start an execution hold the work gate, and never
while their body is still coming."""

from __future__ import annotations

import io
import threading

import pytest
from falcon import testing

from qinling.api.gated import gated
from qinling.work_gate import WorkGate

MAX_BODY = 1024


def _app(gate: WorkGate, seen: list[bool]):
    def app(environ, start_response):
        seen.append(gate.held_here())
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [body]

    return app


@pytest.mark.parametrize(
    "method, path, gate_held",
    [
        ("POST", "/v1/executions", True),
        ("POST", "/v1/executions/", True),
        ("POST", "/v1/webhooks/0c3f/invoke", True),
        ("GET", "/v1/executions", False),
        ("POST", "/v1/functions", False),
        ("POST", "/v1/executions/0c3f/cancel", False),
        ("POST", "/v1/webhooks/0c3f", False),
    ],
)
def test_which_requests_hold_the_gate(method: str, path: str, gate_held: bool) -> None:
    gate, seen = WorkGate(), []
    client = testing.TestClient(gated(_app(gate, seen), max_body=MAX_BODY, gate=gate))
    result = client.simulate_request(method, path, body=b'{"a": 1}')
    assert seen == [gate_held]
    assert result.content == b'{"a": 1}'  # the body reaches the app whole
    assert not gate.held_here()


def test_a_body_too_large_or_of_unknown_length_is_left_to_the_app() -> None:
    gate, seen = WorkGate(), []
    client = testing.TestClient(gated(_app(gate, seen), max_body=MAX_BODY, gate=gate))
    client.simulate_post("/v1/executions", body=b"x" * (MAX_BODY + 1))
    environ = testing.create_environ("/v1/executions", method="POST")
    environ["CONTENT_LENGTH"] = ""
    gated(_app(gate, seen), max_body=MAX_BODY, gate=gate)(environ, lambda *a: None)
    assert seen == [False, False]


class _SlowBody(io.RawIOBase):
    """A request body whose bytes come only once ``arrive`` is set."""

    def __init__(self, data: bytes) -> None:
        self.reading = threading.Event()
        self.arrive = threading.Event()
        self._data = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        self.reading.set()
        assert self.arrive.wait(10)
        return self._data.read(size)


def test_the_gate_is_not_held_while_a_client_sends_its_body() -> None:
    gate, seen = WorkGate(), []
    app = gated(_app(gate, seen), max_body=MAX_BODY, gate=gate)
    body = _SlowBody(b"{}")
    environ = testing.create_environ("/v1/executions", method="POST", body=b"{}")
    environ["wsgi.input"] = body
    caller = threading.Thread(target=lambda: app(environ, lambda *a: None))
    caller.start()
    try:
        assert body.reading.wait(10)
        with gate.held():  # another request's turn, meanwhile
            assert gate.held_here()
    finally:
        body.arrive.set()
        caller.join(10)
    assert seen == [True]
