"""An API process's borrowed workers, against a fake engine and a fake worker.

The engine's side is a socket pair on which the test reads what the process
tells the engine (``return``, ``running``, ``done``) and writes recalls; a
worker is a thread answering on a socket pair, as a runtime agent does.
"""

from __future__ import annotations

import os
import socket
import threading

import pytest

from qinling.orchestrator import base
from qinling.orchestrator.local import borrowed as borrowed_module
from qinling.orchestrator.local._sandbox import wire
from qinling.orchestrator.local.borrowed import BorrowedWorkers

RUNTIME = base.RuntimeSpec(id="rt", image="python3")
SPEC = base.FunctionSpec(
    function_id="f", version=0, runtime=RUNTIME, package_path=None, package_digest="d1"
)


class FakeEngine:
    def __init__(self) -> None:
        self.ours, self.theirs = socket.socketpair()
        self.theirs.settimeout(5)
        self.ours.settimeout(5)

    def connect(self) -> socket.socket:
        accepted = threading.Thread(target=self._accept)
        accepted.start()
        return self.theirs

    def _accept(self) -> None:
        assert wire.recv(self.ours)["method"] == "leases"
        wire.send(self.ours, {"result": {"holder": "h1"}})

    def note(self) -> dict:
        """The next note the process sent."""
        return wire.recv(self.ours)

    def recall(self, lease_id: str) -> None:
        wire.send(self.ours, {"recall": lease_id})


class FakeWorker:
    """A runtime agent's side: answers each request with ``output``."""

    def __init__(self, output: str = "ok") -> None:
        self.engine_end, self.agent_end = socket.socketpair()
        self.pidfd = os.pidfd_open(os.getpid())
        self.requests: list[dict] = []
        threading.Thread(target=self._serve, args=(output,), daemon=True).start()

    def _serve(self, output: str) -> None:
        try:
            while True:
                request = wire.recv(self.agent_end)
                self.requests.append(request)
                wire.send(self.agent_end, {"success": True, "output": output, "duration": 0.001})
        except (OSError, ValueError):
            pass

    def grant(self, lease_id: str = "h1-1") -> tuple[dict, list[int]]:
        info = {
            "lease": lease_id,
            "name": "worker-1",
            "function_id": "f",
            "version": 0,
            "digest": "d1",
            "memory_size": 1 << 25,
            "pid": os.getpid(),
            "max_frame": 1 << 20,
            "stdio": None,
            "oom_file": None,
        }
        # As received over a socket: copies the process owns.
        return info, [os.dup(self.engine_end.fileno()), os.dup(self.pidfd)]


@pytest.fixture
def engine():
    fake = FakeEngine()
    yield fake
    fake.ours.close()


@pytest.fixture
def borrowed(engine):
    workers = BorrowedWorkers(engine.connect, idle_seconds=30)
    assert workers.holder() == "h1"
    yield workers
    workers.close()


def test_a_borrowed_worker_runs_the_next_execution_itself(borrowed, engine) -> None:
    worker = FakeWorker("from the borrowed worker")
    borrowed.keep(*worker.grant(), SPEC)

    taken = borrowed.take(SPEC, "e1")
    assert taken is not None
    assert borrowed.take(SPEC, "e2") is None  # busy: the next goes to the engine
    result = borrowed.run(taken, SPEC, base.ExecutionRequest("e1", input={"x": 1}))

    assert result.success and result.output == "from the borrowed worker"
    assert worker.requests == [{"execution_id": "e1", "input": {"x": 1}, "context": {}}]
    assert borrowed.take(SPEC, "e3") is taken  # free again


def test_a_worker_of_other_code_is_given_back_not_used(borrowed, engine) -> None:
    borrowed.keep(*FakeWorker().grant(), SPEC)
    updated = base.FunctionSpec(**{**vars(SPEC), "package_digest": "d2"})

    assert borrowed.take(updated, "e1") is None
    assert engine.note() == {"op": "return", "lease": "h1-1", "broken": False}


def test_a_recalled_free_worker_goes_back_at_once(borrowed, engine) -> None:
    borrowed.keep(*FakeWorker().grant(), SPEC)

    engine.recall("h1-1")

    assert engine.note() == {"op": "return", "lease": "h1-1", "broken": False}
    assert borrowed.take(SPEC, "e1") is None


def test_a_recalled_busy_worker_goes_back_after_its_run(borrowed, engine) -> None:
    borrowed.keep(*FakeWorker().grant(), SPEC)
    taken = borrowed.take(SPEC, "e1")
    engine.recall("h1-1")
    engine.ours.settimeout(0.2)
    with pytest.raises(TimeoutError):
        engine.note()  # not while it runs
    engine.ours.settimeout(5)

    assert borrowed.run(taken, SPEC, base.ExecutionRequest("e1")).success

    assert engine.note() == {"op": "return", "lease": "h1-1", "broken": False}


def test_a_recall_before_its_grant_arrived_gives_it_back_on_arrival(borrowed, engine) -> None:
    worker = FakeWorker()
    engine.recall("h1-1")
    # The grant comes with a run's answer, on another connection: later here.
    threading.Timer(0.2, lambda: borrowed.keep(*worker.grant(), SPEC)).start()

    assert engine.note() == {"op": "return", "lease": "h1-1", "broken": False}
    assert borrowed.take(SPEC, "e1") is None


def test_an_announced_long_run_is_told_to_the_engine_and_ended(borrowed, engine) -> None:
    borrowed.keep(*FakeWorker().grant(), SPEC)
    taken = borrowed.take(SPEC, "e1")

    borrowed.announce("e1")
    borrowed.announce("not-borrowed")  # run by the engine: nothing to tell
    assert engine.note() == {"op": "running", "lease": "h1-1", "execution_id": "e1"}
    borrowed.run(taken, SPEC, base.ExecutionRequest("e1"))

    assert engine.note() == {"op": "done", "lease": "h1-1"}


def test_an_unused_worker_is_given_back(engine) -> None:
    workers = BorrowedWorkers(engine.connect, idle_seconds=0.05)
    try:
        assert workers.holder() == "h1"
        workers.keep(*FakeWorker().grant(), SPEC)

        assert engine.note() == {"op": "return", "lease": "h1-1", "broken": False}
    finally:
        workers.close()


def test_fingerprint_tells_apart_what_needs_another_worker() -> None:
    same = base.FunctionSpec(**{**vars(SPEC), "timeout": 60, "concurrency": 3})
    assert borrowed_module.fingerprint(same) == borrowed_module.fingerprint(SPEC)
    for change in (
        {"memory_size": 1 << 26},
        {"entry": "other.main"},
        {"environment": {"A": "1"}},
        {"cpu": 200},
        {"version": 1},
    ):
        changed = base.FunctionSpec(**{**vars(SPEC), **change})
        assert borrowed_module.fingerprint(changed) != borrowed_module.fingerprint(SPEC)
