"""The driver's handle on one runtime's zygote process."""

from __future__ import annotations

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

LOG = logging.getLogger(__name__)

_BOOT = (
    "import sys; sys.path.insert(0, sys.argv[1]); "
    "from _sandbox import zygote; zygote.main(sys.argv[2])"
)
_SANDBOX_PARENT = os.path.dirname(os.path.abspath(__file__))
_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


class Zygote:
    """Starts the zygote and asks it to fork workers, one request at a time."""

    def __init__(
        self, definition: runtimes.RuntimeDefinition, log_path: str, timeout: float
    ) -> None:
        self.definition = definition
        self.log_path = log_path
        self.timeout = timeout
        self._lock = threading.Lock()
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
        pairs; returns its pid and a pidfd. Raises OrchestratorError."""
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                if self._process is not None:
                    LOG.warning("Zygote of runtime %s died; restarting it", self.definition.name)
                self._close_locked()
                self._start_locked()
            assert self._control is not None
            try:
                wire.send(self._control, {"op": "spawn", "plan": plan}, [channel_fd, attach_fd])
                reply, fds = wire.recv_with_fds(self._control, max_fds=1)
            except (OSError, ValueError) as exc:
                self._close_locked()
                raise exceptions.OrchestratorError(f"The zygote failed: {exc}") from exc
        if "error" in reply:
            for fd in fds:
                os.close(fd)
            raise exceptions.OrchestratorError(f"Cannot start a worker: {reply['error']}")
        return reply["pid"], fds[0]

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
