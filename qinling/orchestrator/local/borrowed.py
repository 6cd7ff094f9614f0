"""An API process's side of ``leases``: the engine's workers it borrowed.

The process opens a *lease channel* to the engine's data socket (the
engine knows it as its holder) and asks, with a run it sends there, to
keep that run's worker. Its later runs of the same function version go to
a free borrowed worker directly, over the worker's own socket; when none is
free they go to the engine as before. A borrowed worker is given back

* when it has not been used for ``idle_seconds``, or after ``max_age``
  seconds (the engine then sees it again: reaping, runtime updates);
* when the engine recalls it (at once if free, else after its run);
* broken, after a run that timed out or lost the worker (the engine
  replaces it), and when its function version changed here (a new package,
  new limits): such a worker is not used.

Should the channel close (the engine stopped), the borrowed workers are
forgotten; the next run opens a new one.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from qinling.orchestrator import base
from qinling.orchestrator.local import cgroups, runs
from qinling.orchestrator.local._sandbox import wire
from qinling.orchestrator.local.worker import Worker

LOG = logging.getLogger(__name__)

IDLE_SECONDS = 1.0
MAX_AGE = 10.0


def fingerprint(spec: base.FunctionSpec) -> tuple:
    """What a worker was started for: another value needs another worker."""
    return (
        spec.function_id,
        spec.version,
        spec.runtime.id,
        spec.runtime.image,
        spec.package_digest,
        spec.entry,
        spec.memory_size,
        spec.cpu,
        tuple(sorted(spec.environment.items())),
    )


class _BorrowedCgroup:
    """The memory accounting ``runs.run_on`` does, on descriptors the engine passed."""

    def __init__(self, peak_fd: int, oom_file: str | None) -> None:
        self.peak_fd = peak_fd
        self._oom_file = oom_file

    def reset_memory_peak(self) -> None:
        cgroups.reset_peak(self.peak_fd)

    def memory_peak(self) -> int | None:
        return cgroups.read_peak(self.peak_fd)

    def oom_kills(self) -> int:
        return cgroups.read_oom_kills(self._oom_file) if self._oom_file else 0

    def close(self) -> None:
        if self.peak_fd >= 0:
            os.close(self.peak_fd)
            self.peak_fd = -1


@dataclasses.dataclass(eq=False)
class Borrowed:
    lease_id: str
    worker: Worker
    fingerprint: tuple
    granted_at: float
    last_used: float
    busy: bool = True
    recalled: bool = False
    execution_id: str | None = None
    announced: bool = False

    def close(self) -> None:
        cgroup = self.worker.cgroup
        self.worker.close()
        if isinstance(cgroup, _BorrowedCgroup):
            cgroup.close()


def _worker_of(info: dict[str, Any], fds: list[int]) -> Worker:
    """A ``Worker`` for ``runs.run_on`` from a lease's grant (``Lease.grant``)."""
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, fileno=fds[0])
    conn.setblocking(False)  # as the engine's: ``wire.exchange`` polls itself
    cgroup = _BorrowedCgroup(fds[2] if len(fds) > 2 else -1, info.get("oom_file"))
    stdio = info.get("stdio")
    return Worker(
        name=str(info["name"]),
        key=(str(info["function_id"]), int(info["version"])),
        runtime_id="",
        generation=0,
        digest=str(info.get("digest") or ""),
        memory_size=int(info["memory_size"]),
        uid=0,
        cgroup=cgroup if info.get("oom_file") else None,  # type: ignore[arg-type]
        pid=int(info["pid"]),
        pidfd=fds[1],
        conn=conn,
        state=base.WorkerState.BUSY,
        max_frame=int(info["max_frame"]),
        stdio=(str(stdio[0]), str(stdio[1])) if stdio else None,
    )


class BorrowedWorkers:
    def __init__(
        self,
        connect: Callable[[], socket.socket],
        *,
        idle_seconds: float = IDLE_SECONDS,
        max_age: float = MAX_AGE,
    ) -> None:
        """``connect``: a new connection to the engine's data socket."""
        self._connect = connect
        self._idle_seconds = idle_seconds
        self._max_age = max_age
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._borrowed: dict[tuple[str, int], list[Borrowed]] = {}
        self._early_recalls: set[str] = set()
        self._channel: socket.socket | None = None
        self._holder: str | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._closed = False

    # -- the channel ------------------------------------------------------

    def holder(self) -> str | None:
        """This process's name at the engine (its lease channel opened on
        first use); None when the engine does not lend workers or is away."""
        with self._lock:
            if self._holder is not None or self._closed:
                return self._holder
            try:
                channel = self._connect()
                wire.send(channel, {"method": "leases", "context": {}, "args": {}})
                reply = wire.recv(channel)
            except (OSError, ValueError) as err:
                LOG.debug("No lease channel: %s", err)
                return None
            if "error" in reply:  # an engine that does not lend
                channel.close()
                self._closed = True
                return None
            self._channel, self._holder = channel, str(reply["result"]["holder"])
        threading.Thread(target=self._listen, args=(channel,), name="leases", daemon=True).start()
        return self._holder

    def _tell(self, message: dict[str, Any]) -> None:
        channel = self._channel
        if channel is None:
            return
        try:
            with self._send_lock:
                wire.send(channel, message)
        except OSError as err:
            LOG.debug("Lease channel: %s", err)

    def _listen(self, channel: socket.socket) -> None:
        """Recalls from the engine; idle and old workers given back."""
        poller = select.poll()
        poller.register(channel, select.POLLIN)
        poller.register(self._wake_r, select.POLLIN)
        while True:
            with self._lock:
                waiting = bool(self._borrowed)
            ready = poller.poll(self._idle_seconds * 500 if waiting else None)
            for fd, _ in ready:
                if fd == self._wake_r.fileno():
                    self._wake_r.recv(64)
                    continue
                try:
                    message = wire.recv(channel)
                except (OSError, ValueError):
                    self._lose_channel(channel)
                    return
                self._recalled(str(message.get("recall")))
            self._give_back_unused()

    def _lose_channel(self, channel: socket.socket) -> None:
        with self._lock:
            lost = self._all()
            self._borrowed.clear()
            self._early_recalls.clear()
            if self._channel is channel:
                self._channel = self._holder = None
        channel.close()
        for borrowed in lost:
            if not borrowed.busy:
                borrowed.close()
        LOG.info("Lease channel closed: %d borrowed workers forgotten", len(lost))

    def _recalled(self, lease_id: str) -> None:
        free = None
        with self._lock:
            found = self._find(lease_id)
            if found is None:  # its grant is still on its way
                self._early_recalls.add(lease_id)
            elif found.busy:
                found.recalled = True
            else:
                free = self._remove(found)
        if free is not None:
            self._give_back(free, broken=False)

    def _give_back_unused(self) -> None:
        now = time.monotonic()
        with self._lock:
            unused = [
                b
                for b in self._all()
                if not b.busy
                and (now - b.last_used >= self._idle_seconds or now - b.granted_at >= self._max_age)
            ]
            for borrowed in unused:
                self._remove(borrowed)
        for borrowed in unused:
            self._give_back(borrowed, broken=False)

    def _give_back(self, borrowed: Borrowed, *, broken: bool) -> None:
        if borrowed.announced:
            self._tell({"op": "done", "lease": borrowed.lease_id})
        borrowed.close()
        self._tell({"op": "return", "lease": borrowed.lease_id, "broken": broken})

    # -- the table (under ``_lock``) ----------------------------------------

    def _all(self) -> list[Borrowed]:
        return [borrowed for group in self._borrowed.values() for borrowed in group]

    def _find(self, lease_id: str) -> Borrowed | None:
        return next((b for b in self._all() if b.lease_id == lease_id), None)

    def _remove(self, borrowed: Borrowed) -> Borrowed:
        group = self._borrowed.get(borrowed.worker.key, [])
        if borrowed in group:
            group.remove(borrowed)
        if not group:
            self._borrowed.pop(borrowed.worker.key, None)
        return borrowed

    # -- runs ---------------------------------------------------------------

    def take(self, spec: base.FunctionSpec, execution_id: str) -> Borrowed | None:
        """A free borrowed worker for ``spec``, now busy with ``execution_id``."""
        # Unlocked: a worker kept meanwhile is missed, and the run goes to the engine.
        if spec.key not in self._borrowed:
            return None
        wanted = fingerprint(spec)
        now = time.monotonic()
        stale = []
        taken = None
        with self._lock:
            for borrowed in reversed(self._borrowed.get(spec.key, ())):
                if borrowed.busy:
                    continue
                if borrowed.fingerprint != wanted or now - borrowed.granted_at >= self._max_age:
                    stale.append(borrowed)
                    continue
                borrowed.busy, borrowed.execution_id = True, execution_id
                taken = borrowed
                break
            for borrowed in stale:
                self._remove(borrowed)
        for borrowed in stale:
            self._give_back(borrowed, broken=False)
        return taken

    def keep(self, info: dict[str, Any], fds: list[int], spec: base.FunctionSpec) -> None:
        """Take a worker the engine lent with a run's answer."""
        try:
            worker = _worker_of(info, fds)
        except (KeyError, TypeError, ValueError, IndexError, OSError) as err:
            LOG.warning("A lease's grant could not be read (%s); giving it back", err)
            for fd in fds:
                os.close(fd)
            self._tell({"op": "return", "lease": str(info.get("lease")), "broken": False})
            return
        now = time.monotonic()
        borrowed: Borrowed | None = Borrowed(
            str(info["lease"]), worker, fingerprint(spec), now, now, busy=False
        )
        first = False
        with self._lock:
            recalled = borrowed.lease_id in self._early_recalls
            self._early_recalls.discard(borrowed.lease_id)
            if not recalled and self._channel is not None:
                first = not self._borrowed
                self._borrowed.setdefault(spec.key, []).append(borrowed)  # type: ignore[arg-type]
                borrowed = None  # kept
        if borrowed is not None:
            self._give_back(borrowed, broken=False)
        elif first:
            self._wake_w.send(b"\0")  # the listener now gives idle ones back

    def run(
        self, borrowed: Borrowed, spec: base.FunctionSpec, request: base.ExecutionRequest
    ) -> base.ExecutionResult:
        """Run on a worker ``take`` gave; it is free again, or given back, after."""
        result, broken = runs.run_on(
            borrowed.worker, spec, request, cold=False, was_cancelled=lambda: False
        )
        with self._lock:
            borrowed.busy, borrowed.execution_id = False, None
            borrowed.last_used = time.monotonic()
            back = broken or borrowed.recalled or self._find(borrowed.lease_id) is None
            if back:
                self._remove(borrowed)
        if borrowed.announced and not back:
            self._tell({"op": "done", "lease": borrowed.lease_id})
            borrowed.announced = False
        if back:
            self._give_back(borrowed, broken=broken)
        return result

    def announce(self, execution_id: str) -> None:
        """``execution_id`` runs long: the engine hears on which worker, so that
        a cancel reaches it and a dead process's run is recorded."""
        with self._lock:
            found = next(
                (b for b in self._all() if b.busy and b.execution_id == execution_id), None
            )
            if found is None:
                return
            found.announced = True
        self._tell({"op": "running", "lease": found.lease_id, "execution_id": execution_id})

    def close(self) -> None:
        """Give every free worker back and close the channel."""
        with self._lock:
            self._closed = True
            free = [b for b in self._all() if not b.busy]
            for borrowed in free:
                self._remove(borrowed)
            channel = self._channel
        for borrowed in free:
            self._give_back(borrowed, broken=False)
        if channel is not None:
            try:
                channel.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
