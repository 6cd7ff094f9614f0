"""Timeouts, memory, pids and dying workers."""

from __future__ import annotations

from tests.functional.sandbox.conftest import (
    _sandbox_uid_processes,
    execute,
    requires_isolation,
    wait_until,
)

pytestmark = requires_isolation

COUNTER = """
import os
calls = 0

def main(action=None):
    global calls
    calls += 1
    if action == "hang":
        while True:
            pass
    if action == "exit":
        os._exit(3)
    return calls
"""


def test_timeout_kills_the_worker_and_the_next_call_gets_a_new_one(driver, function):
    spec = function(COUNTER, timeout=1)
    first = execute(driver, spec)
    result = execute(driver, spec, {"action": "hang"})
    assert not result.success
    assert result.output == "Function execution timeout."
    assert result.platform_error is None
    assert driver.list_workers("function-1") == []
    after = execute(driver, spec)
    assert after.success and after.cold_start and after.output == 1
    assert after.worker_name != first.worker_name


def test_timeout_kills_the_whole_process_tree(driver, function):
    spec = function(
        """
        import subprocess, time

        def main():
            subprocess.Popen(["sleep", "600"])
            subprocess.Popen(["sh", "-c", "sleep 600 & sleep 600"])
            while True:
                time.sleep(1)
        """,
        timeout=1,
    )
    result = execute(driver, spec)
    assert result.output == "Function execution timeout."
    assert _sandbox_uid_processes(driver.settings) == []


def test_processes_an_execution_leaves_running_end_with_it(driver, function):
    """A child still running, and an orphan that a shell left behind, are
    ended once the function returns; the worker stays warm for the next."""
    spec = function(
        """
        import subprocess

        def main(leave=True):
            if leave:
                subprocess.Popen(["sleep", "600"])
                subprocess.run(["sh", "-c", "sleep 600 &"], check=True)
            return "done"
        """
    )
    first = execute(driver, spec)
    assert (first.success, first.output) == (True, "done")

    # Ended right after the reply is sent.
    wait_until(lambda: _commands(driver) == ["python"])
    second = execute(driver, spec, {"leave": False})
    assert (second.success, second.cold_start) == (True, False)
    assert second.worker_name == first.worker_name


def test_memory_over_the_limit_fails_naming_the_limit(driver, function):
    spec = function(
        """
        def main():
            hog = []
            while True:
                hog.append(bytearray(8 * 1024 * 1024))
        """,
        memory_size=64 * 1024 * 1024,
    )
    result = execute(driver, spec)
    assert not result.success
    assert result.output == "Function exceeded its memory limit of 64 MiB and was killed."
    assert result.platform_error is None
    assert execute(driver, function(COUNTER, memory_size=64 * 1024 * 1024)).success


def test_memory_peak_is_reported(driver, function):
    spec = function(
        """
        def main():
            data = bytearray(20 * 1024 * 1024)
            return len(data)
        """
    )
    result = execute(driver, spec)
    assert result.success
    assert result.memory_peak is not None and result.memory_peak >= 20 * 1024 * 1024


def test_fork_bomb_stops_at_the_pids_limit(driver, function):
    spec = function(
        """
        import os, time

        def main():
            children = 0
            try:
                while True:
                    if os.fork() == 0:
                        time.sleep(600)
                        os._exit(0)
                    children += 1
            except OSError as exc:
                return {"children": children, "error": exc.strerror}
        """
    )
    result = execute(driver, spec)
    assert result.success, result
    assert result.output["children"] < driver.settings.max_pids
    assert result.output["error"] == "Resource temporarily unavailable"
    # The worker cleaned up after the bomb and still serves.
    assert execute(driver, spec).output["children"] == result.output["children"]


def test_a_worker_that_dies_fails_its_execution_and_is_replaced(driver, function):
    spec = function(COUNTER)
    execute(driver, spec)
    result = execute(driver, spec, {"action": "exit"})
    assert not result.success
    # The function ended its own worker: its fault (failed), not the platform's.
    assert result.platform_error is None and "exited unexpectedly" in result.output
    after = execute(driver, spec)
    assert after.success and after.cold_start


def test_a_worker_killed_while_idle_is_replaced_transparently(driver, function):
    spec = function(COUNTER)
    first = execute(driver, spec)
    worker = next(iter(driver._table.get(spec.key).workers))
    worker.kill()
    assert worker.wait_exit(5)
    after = execute(driver, spec)
    assert after.success and after.cold_start
    assert after.worker_name != first.worker_name


def _commands(driver) -> list[str]:
    """What the sandboxes' processes run: "python" for a worker, "sleep"...
    ("" for one that has exited and is not reaped yet)."""
    found = []
    for pid in _sandbox_uid_processes(driver.settings):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                program = f.read().split(b"\0")[0].decode().rsplit("/", 1)[-1]
        except FileNotFoundError:
            continue
        found.append("python" if program.startswith("python") else program)
    return found
