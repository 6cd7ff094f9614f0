"""Celery: a prefork worker fed by RabbitMQ, results in Redis; submit and wait."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator

from bench import processes, venvs
from bench.qinling_server import rabbitmq_vhost

NAME = "celery"
WHAT = (
    "a prefork worker (one process per core) taking tasks from a RabbitMQ queue, results "
    "in Redis; tasks persist in the broker until acked, results expire; no isolation "
    "between tasks (pre-imported code in long-lived processes)"
)
HERE = os.path.dirname(os.path.abspath(__file__))


class Celery:
    def __init__(self, broker: str) -> None:
        self.bin_dir = venvs.ensure("celery")
        self.env = dict(
            os.environ,
            BENCH_BROKER=broker,
            BENCH_BACKEND="redis://127.0.0.1:6379/0",
            PYTHONPATH=HERE,
        )
        self.worker_argv = [
            os.path.join(self.bin_dir, "celery"),
            "-A",
            "celery_tasks",
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(os.cpu_count() or 1),
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel",
            "WARNING",
        ]

    def drive(self, *args: object) -> dict:
        argv = [os.path.join(self.bin_dir, "python"), os.path.join(HERE, "celery_driver.py")]
        done = subprocess.run(
            [*argv, *map(str, args)],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            cwd=HERE,
        )
        if done.returncode:
            raise RuntimeError(f"celery driver failed: {done.stderr[-2000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    @contextlib.contextmanager
    def worker(self) -> Iterator[processes.Service]:
        log = os.path.join(venvs.workdir("celery"), "worker.log")
        service = processes.Service(self.worker_argv, log, env=self.env, cwd=HERE)
        try:
            yield service
        finally:
            service.stop()

    def cold_starts(self, count: int) -> list[float]:
        return self.drive("cold", count, *self.worker_argv)["samples"]


@contextlib.contextmanager
def running() -> Iterator[Celery]:
    """A broker vhost of the bench's own, deleted afterwards, with results cleaned up."""
    with rabbitmq_vhost() as broker:
        peer = Celery(broker.replace("rabbit://", "amqp://"))
        try:
            yield peer
        finally:
            with contextlib.suppress(Exception):
                peer.drive("clean")
