"""What the local driver keeps made ahead of need: spare workers, and the
network namespaces it gives function versions."""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from qinling.orchestrator.local.spares import Source, SpareKeeper


class _Spare:
    def __init__(self, number: int, generation: int) -> None:
        self.name = f"spare-{number}"
        self.generation = generation
        self.stopped = False

    def alive(self) -> bool:
        return not self.stopped


class _Launcher:
    """Spawns stand-in spares; makes descriptors (of /dev/null) in place of
    namespaces, or none once ``networks`` is used up."""

    def __init__(self, networks: int | None = None) -> None:
        self.spawned: list[_Spare] = []
        self.networks_made: list[int] = []
        self.network_calls: list[bool] = []  # ``background`` of each
        self._networks_left = networks
        self._lock = threading.Lock()

    def spawn(self, runtime_id: str, definition: Any, zygote: Any, generation: int, **_: Any):
        with self._lock:
            spare = _Spare(len(self.spawned), generation)
            self.spawned.append(spare)
            return spare

    def stop(self, spare: _Spare) -> None:
        spare.stopped = True

    def new_network(self, *, background: bool = False) -> int | None:
        with self._lock:
            self.network_calls.append(background)
            if self._networks_left is not None:
                if self._networks_left == 0:
                    return None
                self._networks_left -= 1
            fd = os.open(os.devnull, os.O_RDONLY)
            self.networks_made.append(fd)
            return fd


def _until(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.002)


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _keeper(launcher: _Launcher, count: int = 2) -> SpareKeeper:
    keeper = SpareKeeper(launcher, count)  # type: ignore[arg-type]
    keeper.set_source(Source("python", None, None, 1))  # type: ignore[arg-type]
    return keeper


def test_keeps_spare_networks_and_makes_up_for_those_taken_when_asked() -> None:
    launcher = _Launcher()
    keeper = _keeper(launcher)
    try:
        _until(lambda: len(launcher.networks_made) == 2 and len(launcher.spawned) == 2)
        assert launcher.network_calls == [True, True]  # in the background
        taken = keeper.take_network()
        assert taken in launcher.networks_made
        time.sleep(0.05)
        assert len(launcher.networks_made) == 2  # not during the cold start that took it
        keeper.replenish()
        _until(lambda: len(launcher.networks_made) == 3)
        time.sleep(0.05)
        assert len(launcher.networks_made) == 3  # no more than the count
    finally:
        keeper.stop()
    assert taken is not None and _is_open(taken)  # the taker's to close
    os.close(taken)
    assert [fd for fd in launcher.networks_made if fd != taken and _is_open(fd)] == []


def test_with_none_kept_each_network_is_made_when_taken() -> None:
    launcher = _Launcher()
    keeper = _keeper(launcher, count=0)
    taken = [keeper.take_network(), keeper.take_network()]
    keeper.stop()
    assert taken == launcher.networks_made and launcher.network_calls == [False, False]
    for fd in taken:
        os.close(fd)


def test_stops_making_networks_when_none_can_be_made_and_keeps_spares() -> None:
    """No private networks here (egress allowed, no isolation), or the
    kernel refuses: spares are still kept, no network is asked again."""
    launcher = _Launcher(networks=0)
    keeper = _keeper(launcher)
    try:
        _until(lambda: len(launcher.spawned) == 2)
        time.sleep(0.05)
        assert launcher.network_calls == [True]
        assert keeper.take_network() is None
        assert keeper.take(runtime_id="python", generation=1) is launcher.spawned[0]
    finally:
        keeper.stop()
