"""A cancel that comes before its run stops that run only, and is forgotten
after a while."""

from __future__ import annotations

from qinling.orchestrator.early_cancels import EarlyCancels


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_remembered_cancel_stops_one_run() -> None:
    cancels = EarlyCancels()
    cancels.remember("e1")
    assert cancels.take("e1") is True
    assert cancels.take("e1") is False
    assert cancels.take("e2") is False


def test_old_cancels_are_forgotten() -> None:
    clock = Clock()
    cancels = EarlyCancels(max_age=60.0, clock=clock)
    cancels.remember("old")
    clock.now += 61
    assert cancels.take("old") is False
    cancels.remember("kept")
    clock.now += 30
    cancels.remember("new")  # drops what is older than a minute, not "kept"
    assert (cancels.take("kept"), cancels.take("new")) == (True, True)


def test_the_newest_are_kept_when_too_many_come() -> None:
    cancels = EarlyCancels(max_kept=2)
    for name in ("e1", "e2", "e3"):
        cancels.remember(name)
    assert [cancels.take(name) for name in ("e1", "e2", "e3")] == [False, True, True]
