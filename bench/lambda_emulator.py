"""A small Lambda Runtime API emulator: ``python -m bench.lambda_emulator PORT``.

Runtimes (the real awslambdaric) poll ``/2018-06-01/runtime/invocation/next`` and
post ``.../response`` or ``.../error``. Callers invoke with
``POST /2015-03-31/functions/function/invocations`` (the path of AWS's own
emulator); ``X-Amz-Invocation-Type: Event`` queues and answers 202 at once.
``GET /bench/pending`` counts invocations not answered yet.
"""

from __future__ import annotations

import http.server
import json
import queue
import sys
import threading
import time
import uuid

API = "/2018-06-01/runtime"


class _Invocation:
    def __init__(self, payload: bytes) -> None:
        self.id = str(uuid.uuid4())
        self.payload = payload
        self.done = threading.Event()
        self.result = b""
        self.status = 200


class _State:
    def __init__(self) -> None:
        self.queue: queue.Queue[_Invocation] = queue.Queue()
        self.running: dict[str, _Invocation] = {}
        self.lock = threading.Lock()
        self.pending = 0

    def submit(self, payload: bytes) -> _Invocation:
        invocation = _Invocation(payload)
        with self.lock:
            self.running[invocation.id] = invocation
            self.pending += 1
        self.queue.put(invocation)
        return invocation

    def finish(self, request_id: str, body: bytes, status: int) -> bool:
        with self.lock:
            invocation = self.running.pop(request_id, None)
            if invocation is not None:
                self.pending -= 1
        if invocation is None:
            return False
        invocation.result, invocation.status = body, status
        invocation.done.set()
        return True


STATE = _State()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, *args) -> None:  # quiet
        pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _reply(self, status: int, body: bytes = b"", headers: dict | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if self.path == f"{API}/invocation/next":
            invocation = STATE.queue.get()
            deadline = int((time.time() + 300) * 1000)
            headers = {
                "Lambda-Runtime-Aws-Request-Id": invocation.id,
                "Lambda-Runtime-Deadline-Ms": str(deadline),
                "Lambda-Runtime-Invoked-Function-Arn": "arn:aws:lambda:local:0:function:bench",
                "Lambda-Runtime-Trace-Id": "Root=1-0-0",
            }
            try:
                self._reply(200, invocation.payload, headers)
            except OSError:  # that runtime was stopped while it polled: hand it on
                STATE.queue.put(invocation)
                raise
        elif self.path == "/bench/pending":
            self._reply(200, json.dumps({"pending": STATE.pending}).encode())
        else:
            self._reply(404)

    def do_POST(self) -> None:
        body = self._body()
        parts = self.path.split("/")
        if self.path.startswith(f"{API}/invocation/") and parts[-1] in ("response", "error"):
            ok = STATE.finish(parts[-2], body, 200 if parts[-1] == "response" else 500)
            self._reply(202 if ok else 400, b"{}")
        elif self.path.startswith(f"{API}/init/error"):
            sys.stderr.write(f"init error: {body!r}\n")
            self._reply(202, b"{}")
        elif self.path == "/2015-03-31/functions/function/invocations":
            invocation = STATE.submit(body or b"{}")
            if self.headers.get("X-Amz-Invocation-Type") == "Event":
                self._reply(202, b"")
                return
            invocation.done.wait()
            self._reply(invocation.status, invocation.result)
        else:
            self._reply(404)


def main() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
