"""The bench's turn-taking: each system measured alike, in alternating order."""

from __future__ import annotations

import threading

from bench.http_client import run_loads_interleaved, time_calls_interleaved


def test_calls_take_turns_in_an_order_flipped_every_other_turn() -> None:
    order: list[str] = []
    first, second = (lambda: order.append("a")), (lambda: order.append("b"))
    samples = time_calls_interleaved([first, second], 4)
    assert order == ["a", "b", "b", "a", "a", "b", "b", "a"]
    assert [len(mine) for mine in samples] == [4, 4]
    assert all(seconds >= 0 for mine in samples for seconds in mine)


class _Counting:
    """``make_call`` for ``run_load``: counts the callers made and the calls of each."""

    def __init__(self, turns: list[str], name: str) -> None:
        self.callers = 0
        self.calls = 0
        self._lock = threading.Lock()
        self._turns, self._name = turns, name

    def __call__(self):
        self.callers += 1

        def call() -> None:
            with self._lock:
                self.calls += 1
                if not self._turns or self._turns[-1] != self._name:
                    self._turns.append(self._name)

        return call


def test_loads_take_turns_on_callers_kept_from_turn_to_turn() -> None:
    turns: list[str] = []
    ours, theirs = _Counting(turns, "a"), _Counting(turns, "b")
    found = run_loads_interleaved([ours, theirs], 2, 0.4, 4, warm_up=0.05)
    # Warm-up a, b; then a, b | b, a | a, b | b, a: a turn that follows its own kind's
    # shows as one (10 turns in a strict alternation would show as 10).
    assert turns == ["a", "b", "a", "b", "a", "b", "a"]
    assert (ours.callers, theirs.callers) == (2, 2)  # made once, kept
    for (rate, samples, errors), counted in zip(found, (ours, theirs), strict=True):
        assert errors == 0
        assert 0 < len(samples) < counted.calls  # the warm-up's calls not counted
        assert rate > 0
