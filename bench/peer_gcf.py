"""Google's functions-framework: one warm HTTP instance, as its users run it."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator

from bench import processes, venvs
from bench.http_client import JsonClient

NAME = "functions-framework"
WHAT = (
    "one gunicorn gthread process serving one function over HTTP; no persistence of "
    "invocations or results, no isolation between calls or from the host, no queue (no async)"
)
SOURCE = (
    "import time\n\n\ndef trivial(request):\n    return 'ok'\n\n\n"
    "def sleep_10ms(request):\n    time.sleep(0.01)\n    return 'ok'\n"
)


def _argv(target: str, port: int) -> tuple[list[str], str]:
    bin_dir = venvs.ensure("gcf")
    source = os.path.join(venvs.workdir("gcf"), "main.py")
    with open(source, "w") as f:
        f.write(SOURCE)
    argv = [os.path.join(bin_dir, "functions-framework"), "--target", target, "--source", source]
    return [*argv, "--host", "127.0.0.1", "--port", str(port)], venvs.workdir("gcf")


class Instance:
    def __init__(self, port: int) -> None:
        self.port = port

    def caller(self) -> Callable[[], object]:
        client = JsonClient("127.0.0.1", self.port)
        return lambda: client.request("POST", "/", {})


@contextlib.contextmanager
def warm(target: str = "trivial") -> Iterator[Instance]:
    port = processes.free_port()
    argv, cwd = _argv(target, port)
    service = processes.Service(argv, os.path.join(cwd, "server.log"), cwd=cwd)
    try:
        service.wait_http(f"http://127.0.0.1:{port}/")
        yield Instance(port)
    finally:
        service.stop()


def cold_starts(count: int) -> list[float]:
    """Process start to the first answer, ``count`` times."""
    samples = []
    for _ in range(count):
        port = processes.free_port()
        argv, cwd = _argv("trivial", port)
        began = time.perf_counter()
        service = processes.Service(argv, os.path.join(cwd, "cold.log"), cwd=cwd)
        try:
            client = JsonClient("127.0.0.1", port)
            while True:
                try:
                    client.request("POST", "/", {})
                    break
                except OSError:
                    time.sleep(0.001)
            samples.append(time.perf_counter() - began)
            client.close()
        finally:
            service.stop()
    return samples
