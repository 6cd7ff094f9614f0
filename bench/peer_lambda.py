"""awslambdaric, the AWS Lambda Python runtime client, behind our Runtime API emulator."""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Callable, Iterator

from bench import processes, venvs
from bench.http_client import JsonClient

NAME = "awslambdaric"
WHAT = (
    "the real Lambda runtime client polling a Runtime API emulator of ours (one "
    "invocation per runtime process at a time); no persistence, no isolation beyond "
    "one process per environment, async invocations queued in the emulator's memory only"
)
SOURCE = (
    "import time\n\n\ndef trivial(event, context):\n    return 'ok'\n\n\n"
    "def sleep_10ms(event, context):\n    time.sleep(0.01)\n    return 'ok'\n"
)
INVOKE = "/2015-03-31/functions/function/invocations"


class Lambda:
    """The emulator, and the runtime processes polling it."""

    def __init__(self) -> None:
        self.bin_dir = venvs.ensure("lambda")
        self.task_root = venvs.workdir("lambda")
        with open(os.path.join(self.task_root, "main.py"), "w") as f:
            f.write(SOURCE)
        self.port = processes.free_port()
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        self.emulator = processes.Service(
            [sys.executable, "-m", "bench.lambda_emulator", str(self.port)],
            os.path.join(self.task_root, "emulator.log"),
            cwd=root,
        )
        self.runtimes: list[processes.Service] = []
        processes.wait_for(self._listening, 20, "the Lambda emulator")

    def _listening(self) -> bool:
        try:
            JsonClient("127.0.0.1", self.port).request("GET", "/bench/pending")
            return True
        except OSError:
            return False

    def start_runtime(self, handler: str = "trivial") -> processes.Service:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.port}",
            "LAMBDA_TASK_ROOT": self.task_root,
            "AWS_LAMBDA_FUNCTION_NAME": "bench",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": "bench",
            "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
        }
        runtime = processes.Service(
            [os.path.join(self.bin_dir, "python"), "-m", "awslambdaric", f"main.{handler}"],
            os.path.join(self.task_root, "runtime.log"),
            env=env,
            cwd=self.task_root,
        )
        self.runtimes.append(runtime)
        return runtime

    def stop_runtimes(self) -> None:
        for runtime in self.runtimes:
            runtime.stop(grace=2)
        self.runtimes.clear()

    def caller(self, event: bool = False) -> Callable[[], object]:
        client = JsonClient("127.0.0.1", self.port)
        headers = {"X-Amz-Invocation-Type": "Event"} if event else {}
        return lambda: client.request("POST", INVOKE, {}, headers=headers)

    def pending(self) -> int:
        return JsonClient("127.0.0.1", self.port).request("GET", "/bench/pending")["pending"]

    def stop(self) -> None:
        self.stop_runtimes()
        self.emulator.stop(grace=2)


@contextlib.contextmanager
def running(handler: str = "trivial", environments: int = 1) -> Iterator[Lambda]:
    peer = Lambda()
    try:
        for _ in range(environments):
            peer.start_runtime(handler)
        peer.caller()()  # every environment is up once one answered; warm them all
        yield peer
    finally:
        peer.stop()


def cold_starts(count: int) -> list[float]:
    """Runtime process start to the first invocation's response."""
    peer = Lambda()
    samples = []
    try:
        call = peer.caller()
        for _ in range(count):
            began = time.perf_counter()
            runtime = peer.start_runtime()
            call()
            samples.append(time.perf_counter() - began)
            runtime.stop(grace=2)
            peer.runtimes.remove(runtime)
    finally:
        peer.stop()
    return samples
