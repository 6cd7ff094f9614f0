"""A worker as the driver sees it: a sandboxed process at the other end of
a Unix socket pair (``conn``, the driver's end).

A worker is spawned before it is given a function (it may wait as a spare):
until then ``attach`` is the driver's end of the socket on which the function
is named, and ``key`` and ``digest`` are empty.
"""

from __future__ import annotations

import dataclasses
import os
import select
import signal
import socket
import time
from typing import Any

from qinling.orchestrator import base
from qinling.orchestrator.local import cgroups
from qinling.orchestrator.local._sandbox import wire


class WorkerGone(Exception):
    """The worker's process ended or its connection broke."""


@dataclasses.dataclass(eq=False)
class Worker:
    name: str
    key: tuple[str, int]
    runtime_id: str
    generation: int
    digest: str
    memory_size: int
    uid: int
    cgroup: cgroups.WorkerCgroup | None
    pid: int = 0
    pidfd: int = -1
    conn: socket.socket | None = None
    attach: socket.socket | None = None
    state: base.WorkerState = base.WorkerState.STARTING
    last_used: float = dataclasses.field(default_factory=time.monotonic)
    init_duration: float | None = None
    load_error: str | None = None
    load_logs: str = ""
    retiring: bool = False
    max_frame: int = 64 * 1024 * 1024
    # What the agent's stdout and stderr are once it has loaded the function
    # (its log file); None when they cannot be read.
    stdio: tuple[str, str] | None = None

    def info(self) -> base.WorkerInfo:
        return base.WorkerInfo(
            name=self.name,
            function_id=self.key[0],
            version=self.key[1],
            state=self.state,
        )

    def alive(self) -> bool:
        if self.pidfd < 0:
            return False
        return not _pidfd_ready(self.pidfd, 0)

    def call(self, message: dict[str, Any], timeout: float) -> dict[str, Any]:
        """One request and its answer; ``TimeoutError`` or ``WorkerGone``."""
        if self.conn is None:
            raise WorkerGone("not connected")
        try:
            return wire.exchange(self.conn, message, timeout, self.max_frame)
        except TimeoutError:
            raise
        except (OSError, ValueError) as exc:
            raise WorkerGone(str(exc)) from exc

    def read_stdio(self) -> tuple[str, str] | None:
        try:
            return (os.readlink(f"/proc/{self.pid}/fd/1"), os.readlink(f"/proc/{self.pid}/fd/2"))
        except OSError:
            return None

    def stdio_intact(self) -> bool:
        """Whether the function left the agent's stdout and stderr as they were.

        A function that closed or replaced them would lose the logs of every
        later execution in this worker, or fail them.
        """
        return self.stdio is None or self.read_stdio() == self.stdio

    def kill(self) -> None:
        """SIGKILL the worker's pid 1 (the kernel then ends its whole namespace)."""
        if self.pidfd >= 0:
            try:
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.cgroup is None and self.pid:
            try:
                os.killpg(self.pid, signal.SIGKILL)  # unsafe mode: the worker's session
            except (ProcessLookupError, PermissionError):
                pass

    def wait_exit(self, timeout: float) -> bool:
        if self.pidfd < 0:
            return True
        return _pidfd_ready(self.pidfd, timeout)

    def close(self) -> None:
        for channel in (self.conn, self.attach):
            if channel is not None:
                channel.close()
        self.conn = self.attach = None
        if self.pidfd >= 0:
            os.close(self.pidfd)
            self.pidfd = -1


def _pidfd_ready(pidfd: int, timeout: float) -> bool:
    """Whether the process behind ``pidfd`` has exited (its pidfd is readable).

    poll, not select: a host with thousands of workers has descriptors beyond
    select's limit of 1024.
    """
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    return bool(poller.poll(max(0.0, timeout) * 1000))
