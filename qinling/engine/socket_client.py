"""The engine client of an API process on the engine's host: its data socket.

Implements ``engine.client.EngineClient`` (plus ``run``) over
``engine.data_socket``. One connection per calling thread, opened on first
use and reopened once if the engine restarted since.
"""

from __future__ import annotations

import logging
import socket
import threading
from typing import Any

from qinling import exceptions
from qinling.context import RequestContext
from qinling.engine import specs
from qinling.engine.data_socket import MAX_FRAME
from qinling.orchestrator import base
from qinling.orchestrator.local._sandbox import wire

LOG = logging.getLogger(__name__)

# Calls other than executions answer quickly (scale_up waits for workers).
CALL_TIMEOUT = 120.0


class SocketEngineClient:
    def __init__(self, path: str, *, sync_margin: float) -> None:
        self.path = path
        self._sync_margin = sync_margin
        self._local = threading.local()
        self._engine_host: str | None = None

    # The transport -------------------------------------------------------

    def _connect(self) -> socket.socket:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(self.path)
        except OSError as err:
            conn.close()
            raise exceptions.ServiceUnavailable(
                f"The engine cannot be reached on its data socket {self.path}: {err.strerror}"
            ) from err
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
        self._local.conn = None
        self._engine_host = None  # the engine may come back renamed

    def _send(self, message: dict[str, Any]) -> socket.socket:
        """Send on this thread's connection; a stale one (the engine restarted)
        is replaced once. Nothing has reached the engine when this raises."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            try:
                wire.send(conn, message)
                return conn
            except OSError:
                self._drop()
        conn = self._connect()
        self._local.conn = conn
        try:
            wire.send(conn, message)
        except OSError as err:
            self._drop()
            raise exceptions.ServiceUnavailable(f"The engine's data socket failed: {err}") from err
        return conn

    def _request(
        self,
        ctx: RequestContext | None,
        method: str,
        args: dict[str, Any],
        *,
        cast: bool = False,
        timeout: float = CALL_TIMEOUT,
    ) -> Any:
        message = {
            "method": method,
            "context": ctx.to_dict() if ctx is not None else {},
            "args": args,
            "cast": cast,
        }
        conn = self._send(message)
        try:
            conn.settimeout(timeout)
            reply = wire.recv(conn, MAX_FRAME)
        except TimeoutError as err:
            self._drop()  # its answer may still come: the connection is unusable
            raise exceptions.ServiceUnavailable(
                f"The engine did not answer '{method}' in time; try again later."
            ) from err
        except (OSError, ValueError) as err:
            self._drop()
            raise exceptions.ServiceUnavailable(
                f"The engine's data socket closed during '{method}': {err}"
            ) from err
        if "error" in reply:
            error = reply["error"]
            message = str(error.get("message") or "")
            raise exceptions.by_name(error.get("type"), message, message or "The engine failed.")
        return reply.get("result")

    # EngineClient -----------------------------------------------------------

    def create_runtime(self, ctx, runtime_id):
        self._request(ctx, "create_runtime", {"runtime_id": runtime_id}, cast=True)

    def update_runtime(self, ctx, runtime_id):
        self._request(ctx, "update_runtime", {"runtime_id": runtime_id}, cast=True)

    def delete_runtime(self, ctx, runtime_id):
        self._request(ctx, "delete_runtime", {"runtime_id": runtime_id}, cast=True)

    def get_runtime_pool(self, ctx, runtime_id):
        return self._request(ctx, "get_runtime_pool", {"runtime_id": runtime_id})

    def create_execution(self, ctx, execution_id, *, sync, timeout):
        args = {"execution_id": execution_id}
        if not sync:
            self._request(ctx, "create_execution", args, cast=True)
            return None
        return self._request(ctx, "create_execution", args, timeout=timeout + self._sync_margin)

    def cancel_execution(self, ctx, execution_id, *, host):
        return self._request(ctx, "cancel_execution", {"execution_id": execution_id})

    def delete_function(self, ctx, function_id, version=None):
        args = {"function_id": function_id, "version": version}
        self._request(ctx, "delete_function", args, cast=True)

    def scale_up(self, ctx, function_id, version, count):
        args = {"function_id": function_id, "version": version, "count": count}
        self._request(ctx, "scale_up", args)

    def scale_down(self, ctx, function_id, version, count):
        args = {"function_id": function_id, "version": version, "count": count}
        self._request(ctx, "scale_down", args)

    def list_workers(self, ctx, function_id, version=None):
        args = {"function_id": function_id, "version": version}
        return self._request(ctx, "list_workers", args)

    def shutdown(self) -> None:
        self._drop()

    def engine_host(self, unreachable: str | None = None) -> str:
        """The engine's ``[engine] host``, asked again after a reconnection;
        ``unreachable``, when given, while the engine cannot be reached."""
        if self._engine_host is None:
            try:
                self._engine_host = str(self._request(None, "engine_host", {}))
            except exceptions.ServiceUnavailable:
                if unreachable is None:
                    raise
                return unreachable
        return self._engine_host

    # The data path ----------------------------------------------------------

    def run(
        self, ctx: RequestContext, spec: base.FunctionSpec, request: base.ExecutionRequest
    ) -> base.ExecutionResult:
        """Run a claimed execution on the engine; recording it is the caller's."""
        args = {
            "spec": specs.spec_to_wire(spec),
            "request": {
                "execution_id": request.execution_id,
                "input": request.input,
                "context": request.context,
            },
        }
        result = self._request(ctx, "run", args, timeout=spec.timeout + self._sync_margin)
        return base.ExecutionResult(**result)


class ClaimedRunner:
    """``run`` for ``ClaimingInvoker`` in an API process: an execution this
    process claimed, run by the engine over the data socket, the result
    unrecorded. An engine that cannot be reached, or dies during the run,
    gives a platform error as the result."""

    def __init__(self, client: SocketEngineClient) -> None:
        self._client = client

    def __call__(
        self, ctx: RequestContext, spec: base.FunctionSpec, request: base.ExecutionRequest
    ) -> base.ExecutionResult:
        try:
            return self._client.run(ctx, spec, request)
        except exceptions.ServiceUnavailable as err:
            LOG.warning("Execution %s: %s", request.execution_id, err.message)
            message = f"{err.message} The execution may not have run."
            return base.ExecutionResult(success=False, platform_error=message)
