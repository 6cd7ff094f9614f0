"""Functions that break their own worker, on a real qinling-server."""

from __future__ import annotations

import json

import pytest
import requests

from tests.functional import server

FAULTY = """
import ctypes
import os
import sys

def main(action="ok", **kwargs):
    if action == "exit":
        os._exit(3)
    if action == "segfault":
        ctypes.string_at(0)
    if action == "close_stdout":
        sys.stdout.close()
        os.close(1)
        print("nobody hears this")
    if action == "loud":
        os.write(1, b"y" * (8 << 20))
        return "z" * (4 << 20)
    if action == "flood":
        chunk = "x" * (1 << 20)
        for _ in range(4096):  # 4 GiB
            os.write(1, chunk.encode())
    print("all well")
    return "ok"
"""

BYSTANDER = """
calls = 0

def main(**kwargs):
    global calls
    calls += 1
    return calls
"""


@pytest.fixture(scope="module")
def qinling(tmp_path_factory):
    running = server.start(str(tmp_path_factory.mktemp("worker-faults")))
    try:
        yield running
    finally:
        running.service.stop()


@pytest.fixture(scope="module")
def functions(qinling):
    runtime_id = qinling.runtime()
    return (
        qinling.function(runtime_id, FAULTY, timeout=20, memory_size=128 * 1024 * 1024),
        qinling.function(runtime_id, BYSTANDER),
    )


def _output(row: dict):
    return json.loads(row["result"])["output"]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("exit", "exited unexpectedly"),
        ("segfault", "exited unexpectedly"),
        ("close_stdout", "closed file"),
        ("flood", "memory limit"),
    ],
)
def test_a_broken_worker_fails_its_execution_and_is_replaced(qinling, functions, action, message):
    """A function that kills, crashes, deafens or floods its own worker.

    Checks: its execution ends ``failed`` (the function's fault, not the
    platform's) with a message saying what happened; the next execution of
    the same function succeeds on a fresh worker with its logs intact; a
    bystander function keeps its warm worker and its state.
    """
    faulty, bystander = functions
    before = qinling.execute(function_id=bystander)
    assert before["status"] == "success", before

    broken = qinling.execute(function_id=faulty, input={"action": action})
    assert broken["status"] == "failed", broken
    assert message in str(_output(broken)), broken

    after = qinling.execute(function_id=faulty)
    assert after["status"] == "success" and after["cold_start"], after
    log = requests.get(qinling.url(f"/v1/executions/{after['id']}/log")).text
    assert "all well" in log

    still = qinling.execute(function_id=bystander)
    assert still["status"] == "success" and not still["cold_start"], still
    assert _output(still) == _output(before) + 1


def test_logs_and_output_are_capped(qinling, functions):
    """A function that prints 8 MiB and returns 4 MiB.

    Checks: it succeeds; its logs and output are cut to the driver's limits
    ([sandbox] max_log_size / max_output_size, 1 MiB each by default) with a
    note saying so; its worker keeps serving.
    """
    faulty, _ = functions
    loud = qinling.execute(function_id=faulty, input={"action": "loud"})
    assert loud["status"] == "success", loud
    output = _output(loud)
    # Cut by the worker, then once more by the engine's record limit.
    assert len(output) < 2 << 20 and ("[output truncated" in output or "[output cut" in output)
    log = requests.get(qinling.url(f"/v1/executions/{loud['id']}/log")).text
    assert len(log) < 2 << 20 and ("[logs truncated" in log or "[... cut" in log)
    after = qinling.execute(function_id=faulty)
    assert after["status"] == "success" and not after["cold_start"], after
