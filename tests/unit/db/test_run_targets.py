"""A kept function row is given back until anything of what it was read
from changes, it grows old, or newer rows push it out."""

from __future__ import annotations

from qinling.db.run_targets import RunTargets
from qinling.db.spec_changes import SpecChanges


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _targets(**kwargs) -> tuple[RunTargets, SpecChanges, Clock]:
    changes, clock = SpecChanges.in_process(), Clock()
    return RunTargets(changes, clock=clock, **kwargs), changes, clock


def test_a_row_is_kept_per_function_version() -> None:
    targets, _, _ = _targets()
    targets.remember("f1", 0, "row-0", targets.generation())
    targets.remember("f1", 2, "row-2", targets.generation())
    assert targets.get("f1", 0) == "row-0"
    assert targets.get("f1", 2) == "row-2"
    assert targets.get("f1", 1) is None
    assert targets.get("f2", 0) is None


def test_a_change_makes_every_row_stale() -> None:
    targets, changes, _ = _targets()
    targets.remember("f1", 0, "row", targets.generation())
    changes.bump()
    assert targets.get("f1", 0) is None
    assert targets.get("f1", 0) is None  # gone, not only refused


def test_a_row_read_before_a_change_is_not_kept_after_it() -> None:
    """The generation is read before the row: a change between the two
    leaves the row marked as older than the change."""
    targets, changes, _ = _targets()
    seen = targets.generation()
    changes.bump()  # committed while the row was being read
    targets.remember("f1", 0, "maybe old", seen)
    assert targets.get("f1", 0) is None


def test_a_row_grows_stale_with_age() -> None:
    targets, _, clock = _targets(max_age=10.0)
    targets.remember("f1", 0, "row", targets.generation())
    clock.now += 9.9
    assert targets.get("f1", 0) == "row"
    clock.now += 0.2
    assert targets.get("f1", 0) is None


def test_the_oldest_row_makes_room() -> None:
    targets, _, _ = _targets(max_entries=2)
    for name in ("f1", "f2", "f3"):
        targets.remember(name, 0, name, targets.generation())
    assert targets.get("f1", 0) is None
    assert [targets.get(n, 0) for n in ("f2", "f3")] == ["f2", "f3"]


def test_nothing_is_kept_for_a_missing_function() -> None:
    targets, _, _ = _targets()
    targets.remember("gone", 0, None, targets.generation())
    assert targets.get("gone", 0) is None
