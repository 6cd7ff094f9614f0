"""Starting the service's own processes in tests, and always stopping them."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import requests

BIN = os.path.dirname(sys.executable)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_config(path: str, sections: dict[str, dict[str, object]]) -> str:
    with open(path, "w") as out:
        for section, options in sections.items():
            out.write(f"[{section}]\n")
            for name, value in options.items():
                out.write(f"{name} = {value}\n")
            out.write("\n")
    return path


class Service:
    """A console script of ours, its output in a log file."""

    def __init__(self, script: str, config: str, log_path: str) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            [os.path.join(BIN, script), "--config-file", config],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self) -> str:
        with open(self.log_path, errors="replace") as handle:
            return handle.read()

    def wait_http(self, url: str, deadline: float = 60) -> None:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.process.poll() is not None:
                raise AssertionError(f"{url} exited early:\n{self.log()}")
            with contextlib.suppress(requests.ConnectionError):
                requests.get(url, timeout=2)
                return
            time.sleep(0.05)
        raise AssertionError(f"{url} did not answer in {deadline}s:\n{self.log()}")

    def stop(self, timeout: float = 15) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self._log.close()


@contextlib.contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """A vhost of its own on the machine's RabbitMQ, removed afterwards."""
    name = f"qinling-test-{secrets.token_hex(4)}"
    _rabbitmqctl("add_vhost", name)
    try:
        _rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield f"rabbit://guest:guest@127.0.0.1:5672/{name}"
    finally:
        _rabbitmqctl("delete_vhost", name)


def _rabbitmqctl(*args: str) -> None:
    result = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError(
            f"rabbitmqctl {' '.join(args)} failed ({result.stderr.strip()}); is RabbitMQ "
            "running? Start it with: rabbitmq-server -detached"
        )


def wait_for(predicate, *, deadline: float = 30, what: str = "condition", details=None):
    """Poll ``predicate`` until it returns something truthy.

    ``details`` (a callable) adds context, such as service logs, to a timeout.
    """
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    extra = f"\n{details()}" if details else ""
    raise AssertionError(f"Timed out after {deadline}s waiting for {what}{extra}")


def checked(response: requests.Response, status: int, details: str = "") -> dict:
    """``response``'s JSON body (``{}`` for none) once its status is ``status``;
    else a failure naming the request, what came back, and ``details`` (logs)."""
    assert response.status_code == status, (
        f"{response.request.method} {response.url}: {response.status_code} {response.text}{details}"
    )
    json_body = response.content and "json" in response.headers.get("content-type", "")
    return response.json() if json_body else {}
