"""qinling-server's other API processes: started, watched and stopped by the
process that runs the engine (see ``[api] processes``)."""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time

from qinling.connection_share import SLOT_ENV

LOG = logging.getLogger(__name__)

CHILD_MODULE = "qinling.cmd.api_process"
PARENT_ENV = "QINLING_PARENT_PID"
# A process that keeps dying is started again at most this often.
RESTART_INTERVAL = 5.0
_PR_SET_PDEATHSIG = 1


class ApiProcesses:
    def __init__(self, argv: list[str], count: int, *, state_dir: str, drain_seconds: float):
        self._argv = list(argv)
        self._count = count
        self._state_dir = state_dir
        self._drain = drain_seconds
        self._procs: list[subprocess.Popen | None] = [None] * count
        self._started_at = [0.0] * count
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def start(self, port: int) -> None:
        """Start them on ``port`` (the one the engine's process bound)."""
        override = os.path.join(self._state_dir, "api-processes.conf")
        with open(override, "w") as f:
            f.write(f"[api]\nport = {port}\n")
        self._argv += ["--config-file", override]
        with self._lock:
            for slot in range(self._count):
                self._spawn(slot)
        threading.Thread(target=self._watch, name="api-processes", daemon=True).start()

    def _spawn(self, slot: int) -> None:
        # Slot 0 of the connection counts is this process's own.
        env = dict(os.environ, **{PARENT_ENV: str(os.getpid()), SLOT_ENV: str(slot + 1)})
        proc = subprocess.Popen([sys.executable, "-m", CHILD_MODULE, *self._argv], env=env)
        self._procs[slot], self._started_at[slot] = proc, time.monotonic()
        LOG.info("API process %d started (pid %d)", slot + 1, proc.pid)

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            with self._lock:
                for slot, proc in enumerate(self._procs):
                    if proc is None or proc.poll() is None or self._stopping.is_set():
                        continue
                    if time.monotonic() - self._started_at[slot] < RESTART_INTERVAL:
                        continue
                    LOG.warning(
                        "API process %d (pid %d) exited with %s; starting it again",
                        slot + 1,
                        proc.pid,
                        proc.returncode,
                    )
                    self._spawn(slot)

    def stop(self) -> None:
        """SIGTERM each (it drains its requests), then SIGKILL what is left.

        Called before the engine stops: their sync executions need it.
        """
        self._stopping.set()
        with self._lock:
            procs = [p for p in self._procs if p is not None]
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self._drain + 5.0
        for proc in procs:
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                LOG.warning("API process %d did not stop in time; killing it", proc.pid)
                proc.kill()
                proc.wait()


def die_with_parent() -> None:
    """In an API process: end when qinling-server's engine process ends, even
    by SIGKILL, so that no API process outlives the engine it serves."""
    expected = int(os.environ.get(PARENT_ENV, "0"))
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if expected and os.getppid() != expected:
        sys.exit("qinling: the server process that started this API process is gone")
