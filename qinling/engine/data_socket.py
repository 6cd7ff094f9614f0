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
{"type", "message"}}``. A cast is not answered, as a cast over RPC is not:
it runs on the engine's thread pool, and what goes wrong with it is logged
here (waiting for an answer had cost every async execution a round trip to
this process, the busiest). A connection's requests are handled in order,
so an answer to a call means the casts sent before it have been taken. One
connection carries one call at a time; each connection has a thread here.

Where the orchestrator lends workers (``orchestrator.local.leases``), an
API process opens a lease channel with ``leases`` (answered with its
holder name); that connection then carries its notes (``{"op": "return",
"lease", "broken"}``, ``{"op": "running", "lease", "execution_id"}``,
``{"op": "done", "lease"}``) and the engine's recalls (``{"recall"}``). A
``run`` whose args name that holder (``lend_to``) is answered with the
worker lent (``"lease"``) and its descriptors, when the driver lends it.
"""

from __future__ import annotations

import itertools
import logging
import os
import socket
import struct
import threading
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from qinling import exceptions
from qinling.context import RequestContext
from qinling.engine import specs
from qinling.orchestrator import base

# The same framing as the sandbox agents; it lives with them because the
# zygote imports the standard library only.
from qinling.orchestrator.local._sandbox import wire
from qinling.orchestrator.local.leases import Lease, Loan

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
        "leases",
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
        *,
        lender: Lender | None = None,
    ) -> None:
        """``lender``: the orchestrator's ``lending``, when it lends workers."""
        self.path = path
        self._gate = gate
        self._submit = submit
        self._record = record
        self._lender = lender
        self._listener: socket.socket | None = None
        self._connections: set[socket.socket] = set()
        self._channels: dict[str, LeaseChannel] = {}
        self._channel_numbers = itertools.count(1)
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
                if request.get("method") == "leases" and self._lender is not None:
                    self._serve_lease_channel(conn)
                    return
                if request.get("cast"):
                    self._cast(request)
                    continue
                reply, ran = self._answer(request)
                fds = self._grant(reply, ran[2]) if ran is not None else []
                try:
                    wire.send(conn, reply, fds=fds)
                except OSError:
                    if ran is not None:  # nobody else will record it
                        self._record(ran[0], ran[1])
                        if ran[2] is not None:
                            self._lender.give_back(ran[2].id, broken=False)
                    return
        finally:
            with self._lock:
                self._connections.discard(conn)
            conn.close()

    def _answer(
        self, request: dict[str, Any]
    ) -> tuple[dict[str, Any], tuple[str, base.ExecutionResult, Lease | None] | None]:
        """The reply, and for ``run`` the execution's id, result and the lease
        of its worker when it was lent."""
        method = request.get("method")
        if not _served(method, cast=False):
            unknown = exceptions.InputError(f"Unknown engine call {method!r}.")
            return exceptions.to_wire(unknown), None
        ctx = RequestContext.from_dict(request.get("context") or {})
        args = request.get("args") or {}
        try:
            if method == "run":
                spec = specs.spec_from_wire(args["spec"])
                execution = base.ExecutionRequest(**args["request"])
                loan = self._loan_for(args.get("lend_to"))
                if loan is None:
                    result = self._gate.run_only(ctx, spec, execution)
                else:
                    result = self._gate.run_only(ctx, spec, execution, loan=loan)
                reply = {"result": specs.result_to_wire(result)}
                return reply, (execution.execution_id, result, loan.lease if loan else None)
            return {"result": getattr(self._gate, method)(ctx, **args)}, None
        except exceptions.QinlingError as err:
            return exceptions.to_wire(err), None
        except Exception as err:
            LOG.exception("Engine call %s over the data socket failed", method)
            failure = exceptions.QinlingError(f"The engine failed: {type(err).__name__}")
            return exceptions.to_wire(failure), None

    def _cast(self, request: dict[str, Any]) -> None:
        """Hand a cast to the engine's thread pool; nobody waits for it."""
        method = request.get("method")
        if not _served(method, cast=True):
            LOG.warning("Unknown engine cast %r over the data socket ignored", method)
            return
        ctx = RequestContext.from_dict(request.get("context") or {})
        try:
            self._submit(getattr(self._gate, method), ctx, **(request.get("args") or {}))
        except RuntimeError as err:  # the engine's pool is shut down: it is stopping
            LOG.info("Cast %s not taken, the engine is stopping: %s", method, err)

    # -- lease channels -----------------------------------------------------

    def _loan_for(self, holder: Any) -> Loan | None:
        if holder is None or self._lender is None:
            return None
        with self._lock:
            channel = self._channels.get(str(holder))
        return Loan(channel) if channel is not None else None

    def drain_leases(self, timeout: float) -> int:
        """At shutdown: recall every lent worker and wait up to ``timeout`` s
        for them (each after its run); how many are still out then."""
        return 0 if self._lender is None else self._lender.take_back(None, timeout)

    def _grant(self, reply: dict[str, Any], lease: Lease | None) -> list[int]:
        """Add the lease of the run's worker to its reply; its descriptors."""
        if lease is None:
            return []
        with self._lock:
            holder_there = lease.holder.name in self._channels
        if not holder_there:  # its channel closed during the run
            self._lender.give_back(lease.id, broken=False)
            return []
        reply["lease"], fds = lease.grant()
        return fds

    def _serve_lease_channel(self, conn: socket.socket) -> None:
        channel = LeaseChannel(conn, f"{_peer_pid(conn)}.{next(self._channel_numbers)}")
        with self._lock:
            self._channels[channel.name] = channel
        LOG.info("API process lease channel %s opened", channel.name)
        try:
            channel.send({"result": {"holder": channel.name}})
            while True:
                note = wire.recv(conn, MAX_FRAME)
                self._take_note(note)
        except (OSError, ValueError):
            pass  # closed: the API process stopped or died
        finally:
            with self._lock:
                self._channels.pop(channel.name, None)
            self._holder_gone(channel)

    def _take_note(self, note: dict[str, Any]) -> None:
        assert self._lender is not None
        op, lease_id = note.get("op"), str(note.get("lease"))
        if op == "return":
            self._lender.give_back(lease_id, broken=bool(note.get("broken")))
        elif op == "running":
            self._lender.announce(lease_id, str(note.get("execution_id")))
        elif op == "done":
            self._lender.announce(lease_id, None)

    def _holder_gone(self, channel: LeaseChannel) -> None:
        assert self._lender is not None
        leases = self._lender.holder_gone(channel)
        for lease in leases:
            if lease.execution_id is not None:
                self._record(
                    lease.execution_id,
                    base.ExecutionResult(success=False, platform_error=HOLDER_GONE),
                )
        LOG.info(
            "API process lease channel %s closed; %d lent workers replaced",
            channel.name,
            len(leases),
        )


HOLDER_GONE = (
    "The API process running this execution stopped before it finished; its result "
    "is unknown. Run it again if it is safe to repeat."
)


@runtime_checkable
class Lender(Protocol):
    """What a driver that lends workers offers (``orchestrator.local.leases``)."""

    def give_back(self, lease_id: str, *, broken: bool) -> None: ...

    def announce(self, lease_id: str, execution_id: str | None) -> None: ...

    def holder_gone(self, holder: Any) -> list[Lease]: ...

    def take_back(self, key: tuple[str, int] | None, timeout: float) -> int: ...


class LeaseChannel:
    """An API process's lease channel: the holder of the workers lent to it."""

    def __init__(self, conn: socket.socket, name: str) -> None:
        self.conn = conn
        self.name = name
        self._send_lock = threading.Lock()

    def send(self, message: dict[str, Any]) -> None:
        with self._send_lock:
            wire.send(self.conn, message)

    def recall(self, lease_id: str) -> None:
        self.send({"recall": lease_id})


def _peer_pid(conn: socket.socket) -> int:
    credentials = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    return struct.unpack("3i", credentials)[0]


def _served(method: Any, *, cast: bool) -> bool:
    """Whether a request for ``method`` is served here (``leases`` opens a
    lease channel instead; ``run`` is answered with its result, never cast)."""
    return method in CALLS and method != "leases" and not (cast and method == "run")
