"""The stock of network namespaces the local driver gives function versions."""

from __future__ import annotations

import os
import threading
import time

from qinling.orchestrator.local.networks import NetworkStock


class _Maker:
    """Makes descriptors (of /dev/null) in place of namespaces, and counts them."""

    def __init__(self, refuse_after: int | None = None) -> None:
        self.made: list[int] = []
        self.refuse_after = refuse_after
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self) -> int | None:
        with self.lock:
            self.calls += 1
            if self.refuse_after is not None and self.calls > self.refuse_after:
                return None
            fd = os.open(os.devnull, os.O_RDONLY)
            self.made.append(fd)
            return fd


def _until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.002)


def _open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def test_keeps_its_count_ready_and_makes_up_for_those_taken_when_asked() -> None:
    maker = _Maker()
    stock = NetworkStock(maker, 2)
    stock.start()
    try:
        _until(lambda: len(maker.made) == 2)
        first = stock.take()
        assert first in maker.made[:2]
        time.sleep(0.05)
        assert len(maker.made) == 2  # not during the cold start that took it
        stock.replenish()
        _until(lambda: len(maker.made) == 3)
        time.sleep(0.05)
        assert len(maker.made) == 3  # not more than the count
    finally:
        stock.stop()
    assert first is not None and _open(first)  # the taker's to close
    os.close(first)
    assert [fd for fd in maker.made if _open(fd)] == []  # the rest closed by stop


def test_without_a_stock_each_take_makes_one() -> None:
    maker = _Maker()
    stock = NetworkStock(maker, 0)
    stock.start()
    taken = [stock.take(), stock.take()]
    stock.stop()
    assert taken == maker.made
    for fd in maker.made:
        os.close(fd)


def test_stops_stocking_when_none_can_be_made() -> None:
    """No private networks here (egress allowed, no isolation), or the
    kernel refuses: the thread ends instead of asking again and again."""
    maker = _Maker(refuse_after=0)
    stock = NetworkStock(maker, 2)
    stock.start()
    try:
        _until(lambda: maker.calls == 1)
        assert stock._thread is not None
        stock._thread.join(5)
        assert not stock._thread.is_alive()
        assert stock.take() is None
    finally:
        stock.stop()
