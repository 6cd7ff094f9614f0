"""The local driver's bookkeeping: its workers by function version, and the
executions waiting for one.

Data only: nothing here starts or stops a process. Every method of
``WorkerTable`` expects its ``lock`` held by the caller, which takes it once
around several of them and never while a process starts, runs or stops.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

from qinling.orchestrator import base
from qinling.orchestrator.local.worker import Worker

Key = tuple[str, int]  # function id, version


class Slots:
    """The workers of one function version and the executions waiting for one."""

    def __init__(self, lock: threading.Lock) -> None:
        self.ready = threading.Condition(lock)
        self.workers: list[Worker] = []
        self.starting = 0
        self.waiting = 0
        self.digest: str | None = None
        # The network namespace its workers share (a descriptor), made or
        # taken from a spare by its first start; kept while it has workers or
        # starts under way, which may be passing it on.
        self.network: int | None = None
        # Held by the start that makes it, so that starts together make one.
        self.making_network = threading.Lock()

    def idle(self) -> list[Worker]:
        return [w for w in self.workers if w.state is base.WorkerState.IDLE]

    def keep_network(self, network: int | None) -> None:
        if network is not None and (self.network is not None or not self.workers):
            os.close(network)  # another start kept one first, or all are gone
        elif network is not None:
            self.network = network

    def forget_network_if_unused(self) -> None:
        if self.network is not None and not self.workers and not self.starting:
            os.close(self.network)
            self.network = None


class WorkerTable:
    def __init__(self, max_workers: int) -> None:
        self.lock = threading.Lock()
        self._max_workers = max_workers
        self._slots: dict[Key, Slots] = {}
        # Package digests no function version uses any more, to discard once
        # no worker holds them either.
        self._unused_digests: set[str] = set()

    def get(self, key: Key) -> Slots | None:
        return self._slots.get(key)

    def workers(self) -> list[Worker]:
        return [w for slots in self._slots.values() for w in slots.workers]

    def of_function(self, function_id: str, version: int | None) -> list[Worker]:
        """Its workers: of one version, or of all with ``version`` None."""
        return [
            worker
            for key, slots in self._slots.items()
            if key[0] == function_id and version in (None, key[1])
            for worker in slots.workers
        ]

    def slots_for(self, spec: base.FunctionSpec, doomed: list[Worker]) -> Slots:
        """The version's slots; workers of an older package of it go to ``doomed``
        (idle ones) or retire (busy ones)."""
        slots = self._slots.get(spec.key)
        if slots is None:
            slots = self._slots[spec.key] = Slots(self.lock)
        if spec.package_digest and slots.digest != spec.package_digest:
            if slots.digest is not None:
                self._unused_digests.add(slots.digest)
                doomed.extend(
                    self.retire(lambda w: w.key == spec.key and w.digest != spec.package_digest)
                )
            slots.digest = spec.package_digest
        return slots

    def take_idle(self, slots: Slots, generation: int, doomed: list[Worker]) -> Worker | None:
        """The warmest idle worker, now busy; dead or outdated ones go to ``doomed``."""
        for worker in reversed(slots.idle()):  # the most recently used is the warmest
            if worker.generation != generation or not worker.alive():
                slots.workers.remove(worker)
                doomed.append(worker)
                continue
            worker.state = base.WorkerState.BUSY
            return worker
        return None

    def may_start(self, slots: Slots, spec: base.FunctionSpec, doomed: list[Worker]) -> bool:
        """Whether one more worker may start, within the function's concurrency
        and the driver's ``max_workers``; makes room by evicting the least
        recently used idle worker (to ``doomed``) when that is the limit."""
        if len(slots.workers) + slots.starting >= spec.concurrency:
            return False
        total = sum(len(s.workers) + s.starting for s in self._slots.values())
        if total < self._max_workers:
            return True
        idle = [w for s in self._slots.values() for w in s.idle()]
        victim = min(idle, key=lambda w: w.last_used, default=None)
        if victim is None:
            return False
        self.remove(victim)
        doomed.append(victim)
        return True

    def may_grow(self, slots: Slots, spec: base.FunctionSpec) -> bool:
        """Whether the function's concurrency allows one more worker (the
        host's ``max_workers`` may not)."""
        return len(slots.workers) + slots.starting < spec.concurrency

    def retire(self, condition: Callable[[Worker], bool]) -> list[Worker]:
        """Matching idle workers are removed (returned, to stop); busy ones retire later."""
        doomed = []
        for slots in self._slots.values():
            for worker in list(slots.workers):
                if not condition(worker):
                    continue
                if worker.state is base.WorkerState.IDLE:
                    self.remove(worker)
                    doomed.append(worker)
                else:
                    worker.retiring = True
        return doomed

    def remove(self, worker: Worker) -> None:
        slots = self._slots.get(worker.key)
        if slots is not None and worker in slots.workers:
            slots.workers.remove(worker)
            slots.forget_network_if_unused()
        worker.state = base.WorkerState.STOPPING
        for other in self._slots.values():
            other.ready.notify()

    def idle_before(self, horizon: float) -> list[Worker]:
        """Workers idle since before ``horizon`` (monotonic), removed."""
        doomed = [w for s in self._slots.values() for w in s.idle() if w.last_used < horizon]
        for worker in doomed:
            self.remove(worker)
        return doomed

    def least_used_idle(self, key: Key, count: int) -> list[Worker]:
        """Up to ``count`` idle workers of a version, least recently used first, removed."""
        slots = self._slots.get(key)
        doomed = sorted(slots.idle(), key=lambda w: w.last_used)[:count] if slots else []
        for worker in doomed:
            self.remove(worker)
        return doomed

    def forget_function(self, function_id: str, version: int | None) -> list[Worker]:
        """Retire its workers (the idle ones returned, to stop) and its packages."""

        def matches(worker: Worker) -> bool:
            return worker.key[0] == function_id and version in (None, worker.key[1])

        doomed = self.retire(matches)
        for key, slots in list(self._slots.items()):
            if key[0] == function_id and version in (None, key[1]):
                if slots.digest:
                    self._unused_digests.add(slots.digest)
                slots.digest = None
                if not slots.workers and not slots.starting and not slots.waiting:
                    slots.forget_network_if_unused()
                    del self._slots[key]
        return doomed

    def wake_all(self) -> None:
        for slots in self._slots.values():
            slots.ready.notify_all()

    def clear(self) -> list[Worker]:
        """Every worker, removed from the table (the driver stops)."""
        workers = self.workers()
        for slots in self._slots.values():
            slots.workers.clear()
            slots.forget_network_if_unused()
            slots.ready.notify_all()
        return workers

    def discardable_packages(self) -> set[str]:
        """Digests nothing uses any more (forgotten here once returned)."""
        in_use = {w.digest for s in self._slots.values() for w in s.workers}
        in_use |= {s.digest for s in self._slots.values() if s.digest}
        free = self._unused_digests - in_use
        self._unused_digests -= free
        return free
