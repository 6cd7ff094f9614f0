"""A real qinling-server, driven by the real, unmodified ``openstack`` CLI.

Fixtures:

- ``orchestrator``: the engine driver the server runs, from
  ``QINLING_COMPAT_ORCHESTRATOR`` (default ``local``, the sandbox; ``fake``
  runs Python in the server's own process). It is the parameter in each
  test's id, e.g. ``test_webhook[fake]``.
- ``server``: ``qinling-server`` on a free port of 127.0.0.1 with a temporary
  state directory, for the whole session; always stopped (SIGTERM, then
  SIGKILL) and its directory removed.
- ``cli``: runs ``openstack --os-auth-type none --os-endpoint URL ...`` as a
  subprocess; requests without a project are the host operator's (admin, in
  project ``default``).
- ``runtime``: the id of a ``python3`` runtime that is ``available``.

A failing test's report carries the tail of the server log.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests

ORCHESTRATOR = os.environ.get("QINLING_COMPAT_ORCHESTRATOR", "local")
BIN = Path(sys.executable).parent
START_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0
CLI_TIMEOUT = 90.0
RUNTIME_TIMEOUT = 120.0
EXECUTION_TIMEOUT = 60.0
POLL_INTERVAL = 0.2
LOG_TAIL_LINES = 200
FINAL_EXECUTION_STATES = ("success", "failed", "error", "cancelled")

T = TypeVar("T")


def _executable(name: str) -> str:
    candidate = BIN / name
    if candidate.exists():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"'{name}' is not installed next to {sys.executable} nor on PATH")
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check: Callable[[], T | None], timeout: float, what: str) -> T:
    """Poll ``check`` until it returns something other than None, or fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value is not None:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"Timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(POLL_INTERVAL)


class Server:
    """One qinling-server process with its own config and state directory."""

    def __init__(self, orchestrator: str) -> None:
        self.orchestrator = orchestrator
        self.root = Path(tempfile.mkdtemp(prefix="qinling-compat-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.root / "server.log"
        self.config_path = self.root / "qinling.conf"
        self.process: subprocess.Popen | None = None
        self.config_path.write_text(
            "[DEFAULT]\n"
            f"state_dir = {self.root / 'state'}\n"
            "[api]\n"
            "host = 127.0.0.1\n"
            f"port = {self.port}\n"
            "[engine]\n"
            f"orchestrator = {orchestrator}\n"
        )

    def start(self) -> None:
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                [_executable("qinling-server"), "--config-file", str(self.config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(self._answers, START_TIMEOUT, f"qinling-server to answer GET {self.url}/")

    def _answers(self) -> bool | None:
        assert self.process is not None
        code = self.process.poll()
        if code is not None:
            pytest.fail(f"qinling-server exited with status {code}:\n{self.log()}")
        try:
            response = requests.get(self.url + "/", timeout=2)
        except requests.ConnectionError:
            return None
        return True if response.status_code == 200 else None

    def log(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                # The server leads its own session: its group id is its pid.
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=STOP_TIMEOUT)

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


class Cli:
    """The ``openstack`` command against ``server``, without Keystone."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.openstack = _executable("openstack")
        self.cwd = server.root / "cli"
        self.cwd.mkdir()
        # No OS_* variable of the caller may point the client elsewhere; the
        # client writes the zips of --file packages under TMPDIR.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("OS_", "QINLING"))}
        self.env["TMPDIR"] = str(self.cwd)
        self._pool = futures.ThreadPoolExecutor(max_workers=6, thread_name_prefix="cli")

    def run(self, *args: str, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess:
        command = [
            self.openstack,
            "--os-auth-type",
            "none",
            "--os-endpoint",
            self.server.url,
            *args,
        ]
        return subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
            cwd=self.cwd,
            check=False,
        )

    def explain(self, result: subprocess.CompletedProcess) -> str:
        args = " ".join(result.args[5:])
        return (
            f"`openstack {args}` exited with {result.returncode}\n"
            f"--- stdout ---\n{result.stdout}\n--- stderr ---\n{result.stderr}\n"
            f"--- qinling-server log (tail) ---\n{self.server.log(15)}"
        )

    def ok(self, *args: str) -> str:
        """Run a command that must succeed; its standard output."""
        result = self.run(*args)
        assert result.returncode == 0, self.explain(result)
        return result.stdout

    def json(self, *args: str) -> Any:
        """Run a command that must succeed with ``-f json``; the parsed output."""
        out = self.ok(*args, "-f", "json")
        try:
            return json.loads(out)
        except ValueError:
            pytest.fail(f"`openstack {' '.join(args)} -f json` printed no JSON:\n{out}")

    def fails(self, *args: str) -> str:
        """Run a command that must fail; everything it printed."""
        result = self.run(*args)
        assert result.returncode != 0, self.explain(result)
        return result.stdout + result.stderr

    def many(self, call: Callable[..., T], *commands: tuple[str, ...]) -> list[T]:
        """``call(*command)`` for each command at once (e.g. ``cli.json``)."""
        return list(self._pool.map(lambda command: call(*command), commands))

    @staticmethod
    def wait_for(check: Callable[[], T | None], timeout: float, what: str) -> T:
        return wait_for(check, timeout, what)

    def wait_runtime(self, runtime_id: str, timeout: float = RUNTIME_TIMEOUT) -> dict:
        """Poll ``runtime show`` until the runtime leaves ``creating``."""

        def settled() -> dict | None:
            runtime = self.json("runtime", "show", runtime_id)
            return None if runtime["status"] in ("creating", "upgrading") else runtime

        return wait_for(settled, timeout, f"runtime {runtime_id} to be created")

    def wait_execution(self, execution_id: str, timeout: float = EXECUTION_TIMEOUT) -> dict:
        """Poll ``function execution show`` until the execution is final."""

        def final() -> dict | None:
            execution = self.json("function", "execution", "show", execution_id)
            return execution if execution["status"] in FINAL_EXECUTION_STATES else None

        return wait_for(final, timeout, f"execution {execution_id} to end")

    def close(self) -> None:
        self._pool.shutdown(wait=True)


@pytest.fixture(scope="session", params=[ORCHESTRATOR])
def orchestrator(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def server(orchestrator: str) -> Iterator[Server]:
    server = Server(orchestrator)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        log = server.log()
        if "Traceback" in log:
            print(f"\nqinling-server logged a traceback; its log ends with:\n{log}")
        server.remove()


@pytest.fixture(scope="session")
def cli(server: Server) -> Iterator[Cli]:
    cli = Cli(server)
    yield cli
    cli.close()


@pytest.fixture(scope="session")
def runtime(cli: Cli) -> str:
    created = cli.json("runtime", "create", "python3", "--name", "compat-python3")
    runtime = cli.wait_runtime(created["id"])
    assert runtime["status"] == "available", cli.server.log()
    return runtime["id"]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    server = getattr(item, "funcargs", {}).get("server")
    if server is None and "cli" in getattr(item, "funcargs", {}):
        server = item.funcargs["cli"].server
    if report.failed and server is not None:
        report.sections.append(("qinling-server log (tail)", server.log()))
    return report
