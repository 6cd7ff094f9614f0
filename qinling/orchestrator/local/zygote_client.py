"""The driver's handle on one runtime's zygote process."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import socket
import subprocess
import sys
import threading
from typing import Any

from qinling import exceptions
from qinling.orchestrator.local import runtimes
from qinling.orchestrator.local._sandbox import wire
from qinling.orchestrator.local._sandbox.zygote import MAX_SPAWNS

LOG = logging.getLogger(__name__)

_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from _sandbox import zygote; zygote.main(sys.argv[2])"
)
_SANDBOX_PARENT = os.path.dirname(os.path.abspath(__file__))
_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


@dataclasses.dataclass(eq=False)
class _Spawn:
    """One worker asked of the zygote, and how that went."""

    plan: dict[str, Any]
    fds: tuple[int, int]
    pid: int | None = None
    pidfd: int | None = None
    error: exceptions.OrchestratorError | None = None

    @property
    def done(self) -> bool:
        return self.pidfd is not None or self.error is not None

    def finish(
        self,
        *,
        pid: int | None = None,
        pidfd: int | None = None,
        error: exceptions.OrchestratorError | None = None,
    ) -> None:
        self.pid, self.pidfd, self.error = pid, pidfd, error


class Zygote:
    """Starts the zygote and asks it to fork workers, one request at a time."""

    def __init__(
        self, definition: runtimes.RuntimeDefinition, log_path: str, timeout: float
    ) -> None:
        self.definition = definition
        self.log_path = log_path
        self.timeout = timeout
        self._lock = threading.Lock()  # held while a request is with the zygote
        self._queue_lock = threading.Lock()
        self._queue: list[_Spawn] = []
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None

    def start(self) -> None:
        with self._lock:
            self._start_locked()

    def _start_locked(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        runtime: dict[str, Any] = {"kind": self.definition.kind}
        if self.definition.kind == "python":
            runtime |= {
                "agent_path": self.definition.agent_path,
                "preload": list(self.definition.preload),
            }
        config = {"control_fd": theirs.fileno(), "runtime": runtime}
        with open(self.log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _BOOT, _SANDBOX_PARENT, json.dumps(config)],
                pass_fds=[theirs.fileno()],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=_ENV,
                cwd="/",
                start_new_session=True,
            )
        theirs.close()
        ours.settimeout(self.timeout)
        try:
            wire.recv(ours)
        except (OSError, ValueError) as exc:
            process.kill()
            process.wait()
            ours.close()
            raise exceptions.OrchestratorError(
                f"The zygote of runtime {self.definition.name!r} did not start "
                f"({type(exc).__name__}: {exc}); see {self.log_path}."
            ) from exc
        self._process, self._control = process, ours
        LOG.info("Zygote of runtime %s started, pid %d", self.definition.name, process.pid)

    def spawn(self, plan: dict[str, Any], channel_fd: int, attach_fd: int) -> tuple[int, int]:
        """Fork a worker, given its ends of the channel and attach socket
        pairs; returns its pid and a pidfd. Raises OrchestratorError.

        Spawns asked for while the zygote forks others wait, then go in one
        request, sent by whichever of their threads gets the lock first: the
        zygote forks them back to back (``_sandbox.zygote.Zygote.spawn_all``).
        """
        mine = _Spawn(plan, (channel_fd, attach_fd))
        with self._queue_lock:
            self._queue.append(mine)
        with self._lock:
            while not mine.done:  # else an earlier holder of the lock sent it
                self._spawn_locked(self._next_batch())
        if mine.error is not None:
            raise mine.error
        assert mine.pid is not None and mine.pidfd is not None
        return mine.pid, mine.pidfd

    def _next_batch(self) -> list[_Spawn]:
        with self._queue_lock:
            batch = self._queue[:MAX_SPAWNS]
            del self._queue[:MAX_SPAWNS]
        return batch

    def _spawn_locked(self, batch: list[_Spawn]) -> None:
        """Send ``batch`` and give each its answer; none is left waiting,
        whatever goes wrong (its thread would send an empty request next)."""
        try:
            self._spawn_batch_locked(batch)
        except Exception:  # a malformed answer: each spawn of it fails, below
            LOG.exception("Zygote of runtime %s: unreadable answer", self.definition.name)
        finally:
            lost = exceptions.OrchestratorError("The zygote's answer could not be read.")
            for spawn in batch:
                if not spawn.done:
                    spawn.finish(error=lost)

    def _spawn_batch_locked(self, batch: list[_Spawn]) -> None:
        try:
            reply, pidfds = self._request_locked(batch)
        except exceptions.OrchestratorError as exc:
            for spawn in batch:
                spawn.finish(error=exc)
            return
        results = reply.get("spawned")
        if not isinstance(results, list) or len(results) != len(batch):
            for fd in pidfds:
                os.close(fd)
            error = exceptions.OrchestratorError(
                f"Cannot start a worker: {reply.get('error', 'the zygote answered out of turn')}"
            )
            for spawn in batch:
                spawn.finish(error=error)
            return
        given = iter(pidfds)
        for spawn, result in zip(batch, results, strict=True):
            if "error" in result:
                spawn.finish(
                    error=exceptions.OrchestratorError(f"Cannot start a worker: {result['error']}")
                )
            else:
                spawn.finish(pid=result["pid"], pidfd=next(given))

    def _request_locked(self, batch: list[_Spawn]) -> tuple[dict[str, Any], list[int]]:
        if self._process is None or self._process.poll() is not None:
            if self._process is not None:
                LOG.warning("Zygote of runtime %s died; restarting it", self.definition.name)
            self._close_locked()
            self._start_locked()
        assert self._control is not None
        request = {"op": "spawn", "plans": [spawn.plan for spawn in batch]}
        try:
            wire.send(self._control, request, [fd for spawn in batch for fd in spawn.fds])
            return wire.recv_with_fds(self._control, max_fds=len(batch))
        except (OSError, ValueError) as exc:
            self._close_locked()
            raise exceptions.OrchestratorError(f"The zygote failed: {exc}") from exc

    def stop(self) -> None:
        with self._lock:
            self._close_locked()

    def _close_locked(self) -> None:
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._process is not None:
            try:
                self._process.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
