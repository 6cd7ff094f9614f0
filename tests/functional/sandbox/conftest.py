"""Fixtures driving a real LocalOrchestrator with real zipped functions.

These tests need root and cgroups (memory, cpu, pids); elsewhere they skip.
Every fixture that starts a driver stops it, and ``driver`` checks that
nothing of it is left on the host afterwards.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import select
import socket
import textwrap
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from qinling import conf as qinling_conf
from qinling.orchestrator import base
from qinling.orchestrator.local import LocalOrchestrator, cgroups

PYTHON = base.RuntimeSpec(id="python-runtime", image="python3")
NODEJS = base.RuntimeSpec(id="nodejs-runtime", image="nodejs")


def _check_isolation() -> None:
    if os.geteuid() != 0 or cgroups.detect() is None:
        pytest.fail(
            "The local sandbox tests need root and cgroups: run them as root on "
            "Linux with cgroup v1 or v2 controllers.",
            pytrace=False,
        )


# Kept as a marker-like name so test modules read the same; it fails, never skips.
requires_isolation = pytest.mark.usefixtures("isolation_available")


@pytest.fixture(scope="session")
def isolation_available() -> None:
    _check_isolation()


def make_zip(directory: str, files: dict[str, str], name: str = "package.zip") -> tuple[str, str]:
    """A zip of ``files`` (name -> source, dedented) and its sha256."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for filename, source in files.items():
            archive.writestr(filename, textwrap.dedent(source))
    data = buffer.getvalue()
    path = os.path.join(directory, name)
    with open(path, "wb") as f:
        f.write(data)
    return path, hashlib.sha256(data).hexdigest()


@pytest.fixture
def config(tmp_path):
    conf = qinling_conf.new_config([])
    conf.set_override("state_dir", str(tmp_path / "state"))
    conf.set_override("queue_wait_timeout", 10.0, "sandbox")
    # A uid range of this test run's own: other drivers on the host (other
    # runs, a service) must not count as what this one left behind.
    conf.set_override("uid_range_start", 3_000_000 + os.getpid() % 4096 * 1024, "sandbox")
    conf.set_override("uid_range_size", 1024, "sandbox")
    return conf


@contextlib.contextmanager
def started_driver(config) -> Iterator[LocalOrchestrator]:
    """A started driver with the python3 pool, stopped after; then nothing
    of it may be left on the host."""
    orchestrator = LocalOrchestrator(config)
    orchestrator.start()
    try:
        orchestrator.create_pool(PYTHON)
        yield orchestrator
    finally:
        orchestrator.stop()
    assert_nothing_left(orchestrator)


@pytest.fixture
def driver(config) -> Iterator[LocalOrchestrator]:
    with started_driver(config) as orchestrator:
        yield orchestrator


def assert_nothing_left(orchestrator: LocalOrchestrator) -> None:
    work_dir = orchestrator.settings.work_dir
    assert not os.path.exists(work_dir) or os.listdir(work_dir) == []
    assert _sandbox_uid_processes(orchestrator.settings) == []
    layout = cgroups.detect()
    if layout is not None:
        for directory in set(layout.dirs.values()):
            mine = f"qinling-{os.getpid()}-"
            assert not [d for d in os.listdir(directory) if d.startswith(mine)]


def _sandbox_uid_processes(settings: Any) -> list[int]:
    first, last = settings.uid_range_start, settings.uid_range_start + settings.uid_range_size
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if first <= os.stat(f"/proc/{name}").st_uid < last:
                    found.append(int(name))
            except FileNotFoundError:
                pass
    return found


@pytest.fixture
def function(tmp_path) -> Callable[..., base.FunctionSpec]:
    """Build a FunctionSpec from source files; defaults to the python3 pool."""
    counter = iter(range(1, 1000))

    def build(files: dict[str, str] | str, **fields: Any) -> base.FunctionSpec:
        if isinstance(files, str):
            files = {"main.py": files}
        path, digest = make_zip(str(tmp_path), files, f"package-{next(counter)}.zip")
        fields.setdefault("function_id", "function-1")
        fields.setdefault("version", 0)
        fields.setdefault("runtime", PYTHON)
        fields.setdefault("timeout", 10)
        fields.setdefault("memory_size", 64 * 1024 * 1024)
        return base.FunctionSpec(package_path=path, package_digest=digest, **fields)

    return build


def execute(
    driver: LocalOrchestrator, spec: base.FunctionSpec, input: Any = None, **context: Any
) -> base.ExecutionResult:
    request = base.ExecutionRequest(execution_id="execution-1", input=input, context=context)
    return driver.run_execution(spec, request)


def only_worker_exits_with_its_channel(driver: LocalOrchestrator) -> bool:
    """Close the driver's end of its one worker's channel (as when the
    engine dies): whether the worker exits within 10 s."""
    [worker] = driver._table.workers()
    assert worker.conn is not None
    worker.conn.shutdown(socket.SHUT_WR)
    readable, _, _ = select.select([worker.pidfd], [], [], 10.0)
    return bool(readable)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll driver state that has no event of its own (e.g. a worker turning busy)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.005)
