"""The work gate: one holder at a time, given up while its holder waits."""

from __future__ import annotations

import threading

from qinling.work_gate import WorkGate


def _try_to_take(gate: WorkGate) -> threading.Event:
    """Another thread's attempt to hold ``gate``; set once it got it."""
    got = threading.Event()

    def take() -> None:
        with gate.held():
            got.set()

    threading.Thread(target=take, daemon=True).start()
    return got


def test_one_thread_at_a_time_holds_the_gate() -> None:
    gate = WorkGate()
    with gate.held():
        assert gate.held_here()
        got = _try_to_take(gate)
        assert not got.wait(0.2)
    assert not gate.held_here()
    assert got.wait(5)


def test_a_holder_that_waits_lets_another_in_and_holds_again_after() -> None:
    gate = WorkGate()
    with gate.held():
        with gate.waiting():
            assert not gate.held_here()
            assert _try_to_take(gate).wait(5)
        assert gate.held_here()


def test_waiting_without_holding_does_nothing() -> None:
    gate = WorkGate()
    with gate.waiting():
        assert not gate.held_here()
    with gate.held():  # not left taken by the waiting above
        pass


def test_holding_again_in_the_same_thread_does_not_deadlock() -> None:
    gate = WorkGate()
    with gate.held():
        with gate.held():
            assert gate.held_here()
        assert gate.held_here()
    assert _try_to_take(gate).wait(5)


def test_the_gate_is_given_back_when_the_block_raises() -> None:
    gate = WorkGate()
    try:
        with gate.held():
            raise ValueError("boom")
    except ValueError:
        pass
    assert not gate.held_here()
    assert _try_to_take(gate).wait(5)


def test_a_block_that_may_let_go_holds_on_until_it_does() -> None:
    gate = WorkGate()
    with gate.held():
        with gate.may_let_go():
            assert gate.held_here()
        assert gate.held_here()
        assert not _try_to_take(gate).wait(0.2)


def test_once_let_go_the_gate_is_taken_back_only_when_the_block_ends() -> None:
    gate = WorkGate()
    with gate.held():
        with gate.may_let_go() as let_go:
            let_go()
            let_go()  # once is enough: not given twice
            assert not gate.held_here()
            assert _try_to_take(gate).wait(5)
            assert not gate.held_here()
        assert gate.held_here()
    assert _try_to_take(gate).wait(5)


def test_letting_go_without_holding_does_nothing() -> None:
    gate = WorkGate()
    with gate.may_let_go() as let_go:
        let_go()
        assert not gate.held_here()
    assert not gate.held_here()
    assert _try_to_take(gate).wait(5)
