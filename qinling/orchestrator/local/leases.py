"""Warm workers lent to API processes of this host (DESIGN section 4).

With ``[api] processes`` > 1, an API process reaches its workers through
the engine's data socket; each run crossing that socket cost about 0.26 ms
of CPU (two processes' wake-ups, encoding, the engine's GIL). So after a
run the engine may lend the worker to the API process that asked for it
(a *lease*): the process then runs that function version on the worker
itself, over the worker's own socket, until it gives the worker back.

The engine keeps placement: a lent worker stays ``busy`` in its table, so
the function's concurrency and the host's ``max_workers`` still hold, and
nothing else takes it. A lease comes back

* when its holder has not used it for a while, or held it long enough
  (``borrowed``: the holder's side);
* when the engine recalls it: an execution waits for a worker that a
  holder keeps idle, the function was deleted or scaled down;
* broken, after a run that timed out or killed it: it is replaced;
* when its holder's lease channel closes (the process died): its workers
  are killed, their state being unknown, and a long run the holder had
  announced is recorded as ended in error.

A holder announces a run that lasts (one written as ``running``), so that
a cancel reaches the worker and a dead holder's run is not left running.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from qinling.orchestrator.local.worker import Worker

LOG = logging.getLogger(__name__)


class Holder(Protocol):
    """An API process's lease channel, as the engine sees it."""

    name: str

    def recall(self, lease_id: str) -> None:
        """Ask for the lease back: at once if idle, else after its run. Never blocks for long."""


@dataclasses.dataclass(eq=False)
class Lease:
    id: str
    worker: Worker
    holder: Holder
    # The run its holder announced as lasting, until it says it ended.
    execution_id: str | None = None
    recalled: bool = False

    def grant(self) -> tuple[dict[str, Any], list[int]]:
        """What the holder needs to run on the worker: a description and
        descriptors (its socket, its pidfd, its cgroup's memory peak file)."""
        worker = self.worker
        peak_fd = worker.cgroup.peak_descriptor() if worker.cgroup is not None else -1
        oom_file = worker.cgroup.oom_file() if worker.cgroup is not None else None
        assert worker.conn is not None
        fds = [worker.conn.fileno(), worker.pidfd]
        if peak_fd >= 0:
            fds.append(peak_fd)
        info = {
            "lease": self.id,
            "name": worker.name,
            "function_id": worker.key[0],
            "version": worker.key[1],
            "digest": worker.digest,
            "memory_size": worker.memory_size,
            "pid": worker.pid,
            "max_frame": worker.max_frame,
            "stdio": list(worker.stdio) if worker.stdio is not None else None,
            "oom_file": oom_file,  # None: the worker has no cgroup
        }
        return info, fds


class LeaseBook:
    """The leases out; thread-safe. Starting and stopping workers is the driver's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._returned = threading.Condition(self._lock)  # a lease left the book
        self._leases: dict[str, Lease] = {}
        self._ids = itertools.count(1)

    def lend(self, worker: Worker, holder: Holder) -> Lease:
        with self._lock:
            lease = Lease(f"{holder.name}-{next(self._ids)}", worker, holder)
            self._leases[lease.id] = lease
        return lease

    def take_back(self, lease_id: str) -> Lease | None:
        with self._lock:
            lease = self._leases.pop(lease_id, None)
            self._returned.notify_all()
        return lease

    def of_holder(self, holder: Holder) -> list[Lease]:
        """Its leases, taken back (its channel closed)."""
        with self._lock:
            gone = [lease for lease in self._leases.values() if lease.holder is holder]
            for lease in gone:
                del self._leases[lease.id]
            self._returned.notify_all()
        return gone

    def announce(self, lease_id: str, execution_id: str | None) -> None:
        """The run on the lease that lasts (None: it ended)."""
        with self._lock:
            lease = self._leases.get(lease_id)
            if lease is not None:
                lease.execution_id = execution_id

    def running(self, execution_id: str) -> Worker | None:
        """The lent worker running an announced execution."""
        with self._lock:
            for lease in self._leases.values():
                if lease.execution_id == execution_id:
                    return lease.worker
        return None

    def recall(self, condition: Callable[[Lease], bool]) -> int:
        """Recall the leases out that match (once each); how many."""
        with self._lock:
            due = [
                lease for lease in self._leases.values() if not lease.recalled and condition(lease)
            ]
            for lease in due:
                lease.recalled = True
        for lease in due:
            try:
                lease.holder.recall(lease.id)
            except OSError as err:  # its channel is closing: it comes back then
                LOG.debug("Recall of lease %s failed: %s", lease.id, err)
        return len(due)

    def wait_returned(self, condition: Callable[[Lease], bool], timeout: float) -> int:
        """Wait up to ``timeout`` s until no lease out matches; how many still do."""

        def matching() -> int:
            return sum(1 for lease in self._leases.values() if condition(lease))

        with self._lock:
            self._returned.wait_for(lambda: not matching(), max(0.0, timeout))
            return matching()

    def take_all(self) -> list[Lease]:
        with self._lock:
            leases = list(self._leases.values())
            self._leases.clear()
            self._returned.notify_all()
        return leases

    def __len__(self) -> int:
        return len(self._leases)


class Loan:
    """An API process's wish to keep the worker of the run it asks for:
    the driver fills ``lease`` when it lends it."""

    def __init__(self, holder: Holder) -> None:
        self.holder = holder
        self.lease: Lease | None = None


class Lending:
    """What the engine's data socket asks of a driver that lends workers
    (``engine.data_socket.Lender``), and the driver's recalls. ``release``
    hands a worker back to the driver: idle, or stopped when broken."""

    def __init__(self, release: Callable[[Worker, bool], None]) -> None:
        self.book = LeaseBook()
        self._release = release

    def give_back(self, lease_id: str, *, broken: bool) -> None:
        """A lent worker returned: idle again, or replaced when ``broken``."""
        lease = self.book.take_back(lease_id)
        if lease is not None:
            self._release(lease.worker, broken)

    def announce(self, lease_id: str, execution_id: str | None) -> None:
        """A lent worker runs ``execution_id`` for a while (None: no longer)."""
        self.book.announce(lease_id, execution_id)

    def holder_gone(self, holder: Holder) -> list[Lease]:
        """Its lent workers, killed and replaced (what ran on them is unknown)."""
        leases = self.book.of_holder(holder)
        for lease in leases:
            self._release(lease.worker, True)
        return leases

    def recall(self, key: tuple[str, int] | None) -> None:
        """Recall the workers lent of a function version, or all (``key`` None)."""
        if not len(self.book):
            return
        recalled = self.book.recall(_of(key))
        if recalled:
            LOG.info(
                "Recalled %d workers lent to API processes (%s)",
                recalled,
                "all functions" if key is None else f"function {key[0]} version {key[1]}",
            )

    def take_back(self, key: tuple[str, int] | None, timeout: float) -> int:
        """``recall`` and wait up to ``timeout`` s for those workers (a busy
        one comes back after its run); how many are still out then."""
        self.recall(key)
        return self.book.wait_returned(_of(key), timeout)

    def recall_retiring(self) -> None:
        """Recall lent workers to be stopped (their function changed or went)."""
        if len(self.book):
            self.book.recall(lambda lease: lease.worker.retiring)


def _of(key: tuple[str, int] | None) -> Callable[[Lease], bool]:
    """Leases of a function version, or all (``key`` None)."""
    return lambda lease: key is None or lease.worker.key == key
