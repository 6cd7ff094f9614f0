"""The engine client of an API process on the engine's host: its data socket.

Implements ``engine.client.EngineClient`` (plus ``run``) over
``engine.data_socket``. One connection per calling thread, opened on first
use and reopened once if the engine restarted since.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

from qinling import exceptions
from qinling.context import RequestContext
from qinling.engine import specs
from qinling.engine.data_socket import MAX_FRAME
from qinling.orchestrator import base
from qinling.orchestrator.local._sandbox import wire
from qinling.orchestrator.local.borrowed import BorrowedWorkers

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

    def connect(self) -> socket.socket:
        """A new connection to the engine's data socket."""
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
        conn = self.connect()
        self._local.conn = conn
        try:
            wire.send(conn, message)
        except OSError as err:
            self._drop()
            raise exceptions.ServiceUnavailable(f"The engine's data socket failed: {err}") from err
        return conn

    def _request(
        self, ctx: RequestContext | None, method: str, args: dict[str, Any], **options: Any
    ) -> Any:
        """The result of ``_call`` (``options``: its ``cast`` and ``timeout``)."""
        return self._call(ctx, method, args, **options)[0].get("result")

    def _call(
        self,
        ctx: RequestContext | None,
        method: str,
        args: dict[str, Any],
        *,
        cast: bool = False,
        timeout: float = CALL_TIMEOUT,
        max_fds: int = 0,
    ) -> tuple[dict[str, Any], list[int]]:
        """The whole answer, and the descriptors that came with it (at most
        ``max_fds``); empty for a ``cast``, which is sent and not answered."""
        message = {
            "method": method,
            "context": ctx.to_dict() if ctx is not None else {},
            "args": args,
            "cast": cast,
        }
        conn = self._send(message)
        if cast:  # not answered (``engine.data_socket``)
            return {}, []
        try:
            conn.settimeout(timeout)
            reply, fds = wire.recv_with_fds(conn, MAX_FRAME, max_fds)
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
            for fd in fds:
                os.close(fd)
            raise exceptions.from_wire(reply["error"])
        return reply, fds

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
            try:
                self._request(ctx, "create_execution", args, cast=True)
            except exceptions.ServiceUnavailable as err:
                # The row is committed: the reaper of any engine runs it after
                # [engine] pickup_timeout, so the execution stays accepted.
                LOG.warning("Execution %s left for the reaper: %s", execution_id, err.message)
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
        return self.run_and_borrow(ctx, spec, request, holder=None)[0]

    def run_and_borrow(
        self,
        ctx: RequestContext,
        spec: base.FunctionSpec,
        request: base.ExecutionRequest,
        *,
        holder: str | None,
    ) -> tuple[base.ExecutionResult, dict[str, Any] | None, list[int]]:
        """``run``, asking that ``holder`` (a lease channel) keep the worker:
        the result, and the lease with its descriptors when the engine lent it."""
        args: dict[str, Any] = {
            "spec": specs.spec_to_wire(spec),
            "request": specs.request_to_wire(request),
        }
        if holder is not None:
            args["lend_to"] = holder
        reply, fds = self._call(
            ctx, "run", args, timeout=spec.timeout + self._sync_margin, max_fds=3 if holder else 0
        )
        return base.ExecutionResult(**reply["result"]), reply.get("lease"), fds


class ClaimedRunner:
    """``run`` for ``ClaimingInvoker`` in an API process: an execution this
    process claimed, run on a worker it borrowed (``borrowed``) or by the
    engine over the data socket, the result unrecorded. An engine that
    cannot be reached, or dies during the run, gives a platform error as
    the result."""

    def __init__(self, client: SocketEngineClient, borrowed: BorrowedWorkers | None = None) -> None:
        self._client = client
        self._borrowed = borrowed

    def __call__(
        self, ctx: RequestContext, spec: base.FunctionSpec, request: base.ExecutionRequest
    ) -> base.ExecutionResult:
        if self._borrowed is not None:
            taken = self._borrowed.take(spec, request.execution_id)
            if taken is not None:
                return self._borrowed.run(taken, spec, request)
        try:
            return self._run_on_engine(ctx, spec, request)
        except exceptions.ServiceUnavailable as err:
            LOG.warning("Execution %s: %s", request.execution_id, err.message)
            message = f"{err.message} The execution may not have run."
            return base.ExecutionResult(success=False, platform_error=message)

    def _run_on_engine(
        self, ctx: RequestContext, spec: base.FunctionSpec, request: base.ExecutionRequest
    ) -> base.ExecutionResult:
        holder = self._borrowed.holder() if self._borrowed is not None else None
        if holder is None:
            return self._client.run(ctx, spec, request)
        result, lease, fds = self._client.run_and_borrow(ctx, spec, request, holder=holder)
        if lease is not None and self._borrowed is not None:
            self._borrowed.keep(lease, fds, spec)
        else:
            for fd in fds:
                os.close(fd)
        return result
