"""The gate watch: one holder keeping the work gate too long is logged, with stacks."""

from __future__ import annotations

import logging
import threading

import pytest

from qinling import gate_watch
from qinling.work_gate import WorkGate
from tests import processes

AFTER = 0.3


@pytest.fixture
def watched(caplog):
    gate, stop = WorkGate(), threading.Event()
    caplog.set_level(logging.ERROR, logger=gate_watch.__name__)
    thread = gate_watch.watch(stop, AFTER, gate)
    yield gate
    stop.set()
    thread.join(5)


def _reports(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == gate_watch.__name__]


def _held_until(gate: WorkGate, release: threading.Event) -> threading.Thread:
    def stuck_holder() -> None:
        with gate.held():
            release.wait(30)

    thread = threading.Thread(target=stuck_holder, daemon=True)
    thread.start()
    return thread


def test_one_holder_keeping_the_gate_is_logged_once_with_every_stack(watched, caplog) -> None:
    release = threading.Event()
    holder = _held_until(watched, release)
    processes.wait_for(lambda: _reports(caplog), deadline=10, what="the stuck gate to be logged")
    release.wait(AFTER * 2)  # long enough for a second report, were there one
    release.set()
    holder.join(5)
    (report,) = _reports(caplog)
    assert "probably deadlocked" in report
    assert "stuck_holder" in report  # the holder's stack, where it waits


def test_a_gate_that_changes_hands_is_not_reported(watched, caplog) -> None:
    stop = threading.Event()

    def busy_requests() -> None:
        while not stop.is_set():
            with watched.held():
                stop.wait(AFTER / 10)

    threads = [threading.Thread(target=busy_requests, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    stop.wait(AFTER * 4)
    stop.set()
    for thread in threads:
        thread.join(5)
    assert _reports(caplog) == []


def test_a_gate_nobody_holds_is_not_reported(watched, caplog) -> None:
    threading.Event().wait(AFTER * 3)
    assert _reports(caplog) == []
