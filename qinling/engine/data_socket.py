"""The engine's data socket: API processes on the same host reach the engine
here, without a message bus.

``qinling-server`` with ``[api] processes`` > 1 runs its extra API processes
against this socket (DESIGN section 4: several API processes, a data path
apart from the control plane). An API process accepts and claims a sync
execution in its own database transaction and sends ``run`` with the loaded
spec: the engine only runs it on a worker and answers with the result, which
the API process records. Should that answer not reach it (the API process
died), the engine records it. Every other engine method is served too, with
the RPC endpoint's names and arguments, so that such a process needs no
RabbitMQ.

Frames are the sandbox's (4-byte length, JSON). A request is ``{"method",
"context", "args", "cast"}``; the answer ``{"result"}`` or ``{"error":
{"type", "message"}}``. A cast is answered at once and runs on the engine's
thread pool. One connection carries one request at a time; each connection
has a thread here.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

from qinling import exceptions
from qinling.context import RequestContext
from qinling.engine import specs
from qinling.orchestrator import base

# The same framing as the sandbox agents; it lives with them because the
# zygote imports the standard library only.
from qinling.orchestrator.local._sandbox import wire

LOG = logging.getLogger(__name__)

# What a caller may ask; anything else is refused.
CALLS = frozenset(
    {
        "create_runtime",
        "update_runtime",
        "delete_runtime",
        "get_runtime_pool",
        "create_execution",
        "cancel_execution",
        "delete_function",
        "scale_up",
        "scale_down",
        "list_workers",
        "engine_host",
        "run",
    }
)
MAX_FRAME = 8 * 1024 * 1024


class DataSocketServer:
    def __init__(
        self,
        path: str,
        gate,
        submit: Callable[..., None],
        record: Callable[[str, base.ExecutionResult], object],
    ) -> None:
        self.path = path
        self._gate = gate
        self._submit = submit
        self._record = record
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        if os.path.exists(self.path):
            os.unlink(self.path)  # a previous run's; binding would fail
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old_umask = os.umask(0o177)  # the engine's user alone may connect
        try:
            listener.bind(self.path)
        finally:
            os.umask(old_umask)
        listener.listen(256)
        self._listener = listener
        threading.Thread(target=self._accept_loop, name="data-socket", daemon=True).start()
        LOG.info("Engine data socket listening on %s", self.path)

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # close() alone does not wake a thread blocked in accept() on Linux.
            listener.shutdown(socket.SHUT_RDWR)
            listener.close()
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
        with self._lock:
            for conn in self._connections:
                conn.shutdown(socket.SHUT_RDWR)

    def _accept_loop(self) -> None:
        while self._listener is not None:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed by stop()
            with self._lock:
                self._connections.add(conn)
            threading.Thread(
                target=self._serve, args=(conn,), name="data-socket-conn", daemon=True
            ).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            while True:
                try:
                    request = wire.recv(conn, MAX_FRAME)
                except (OSError, ValueError):
                    return  # the API process went away or sent garbage
                reply, ran = self._answer(request)
                try:
                    wire.send(conn, reply)
                except OSError:
                    if ran is not None:  # nobody else will record it
                        self._record(*ran)
                    return
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()

    def _answer(
        self, request: dict[str, Any]
    ) -> tuple[dict[str, Any], tuple[str, base.ExecutionResult] | None]:
        """The reply, and for ``run`` the execution's id and result."""
        method = request.get("method")
        if method not in CALLS:
            return _error(exceptions.InputError(f"Unknown engine call {method!r}.")), None
        ctx = RequestContext.from_dict(request.get("context") or {})
        args = request.get("args") or {}
        try:
            if method == "run":
                spec = specs.spec_from_wire(args["spec"])
                execution = base.ExecutionRequest(**args["request"])
                result = self._gate.run_only(ctx, spec, execution)
                reply = {"result": dataclasses.asdict(result)}
                return reply, (execution.execution_id, result)
            if request.get("cast"):
                self._submit(getattr(self._gate, method), ctx, **args)
                return {"result": None}, None
            return {"result": getattr(self._gate, method)(ctx, **args)}, None
        except exceptions.QinlingError as err:
            return _error(err), None
        except Exception as err:
            LOG.exception("Engine call %s over the data socket failed", method)
            failure = exceptions.QinlingError(f"The engine failed: {type(err).__name__}")
            return _error(failure), None


def _error(err: exceptions.QinlingError) -> dict[str, Any]:
    return {"error": {"type": type(err).__name__, "message": err.message}}
