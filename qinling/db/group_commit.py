"""Writes of many threads committed together: one transaction, one commit.

Every execution writes its row at least once, and under load those small
transactions cost more in commits than in statements: each commit writes
the pages it touched to SQLite's WAL (a dozen ``pwrite`` calls for one
execution row and its indexes) or waits for PostgreSQL's fsync, and
concurrent SQLite writers in one process sleep in SQLite's busy handler
(measured here at 32 concurrent sync executions: p99 186 ms, a third of
the CPU idle).

So writes queue here. The first writer to arrive leads: it takes the queue,
runs every write in one transaction, commits once, wakes the writers whose
work it committed and hands the lead to the next writer waiting, if any.
Alone, a writer leads itself at once: no thread hand-off on an idle
service. A write that fails is not the others' failure: when a batch's
transaction fails, each of its writes runs again alone, so that each
writer gets its own result or its own error.

Each write must touch nothing but the database through the connection it
is given: it may run twice (once in a batch rolled back, once alone). A
write of one statement, alone in its batch, runs without a transaction
where that saves round trips (``db.autocommit``).

Several processes writing one SQLite file (``[api] processes``) take turns
at its write lock. SQLite's own busy handler sleeps 1 ms, then 2, 5, 10...
while another holds it, for commits that take tens of microseconds; with
``locked_wait`` the group commit's connections give up at once instead
(``PRAGMA busy_timeout = 0``) and it tries again after sleeps from 50 us
(measured at 32 concurrent executions over 2 processes: 1,290-1,330 ->
1,400-1,460 executions/s).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

import sqlalchemy as sa

from qinling.db import autocommit
from qinling.work_gate import GATE

LOG = logging.getLogger(__name__)

T = TypeVar("T")

# Writes one leader commits at most: a bound on how long the leader's own
# request waits for the others' statements.
MAX_BATCH = 64
# Sleeps between tries at SQLite's write lock (``locked_wait``), doubling.
FIRST_LOCKED_SLEEP = 0.00005
LAST_LOCKED_SLEEP = 0.002


class _NotWritten(RuntimeError):
    pass


class _Write(Generic[T]):
    """One writer's work, and how it ended."""

    __slots__ = ("work", "one_statement", "result", "error", "done", "leads", "_wake")

    def __init__(self, work: Callable[[sa.Connection], T], one_statement: bool) -> None:
        self.work = work
        self.one_statement = one_statement
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False
        self.leads = False
        self._wake = threading.Lock()
        self._wake.acquire()  # released once: when done, or told to lead

    def wait(self) -> None:
        self._wake.acquire()

    def wake(self) -> None:
        self._wake.release()

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result


class GroupCommit:
    def __init__(
        self,
        engine: sa.Engine,
        max_batch: int = MAX_BATCH,
        *,
        locked_wait: float = 0.0,
        hold_connection: bool = False,
    ) -> None:
        """``locked_wait``: for an SQLite engine whose connections do not wait
        for the write lock themselves: how long to keep trying for it.
        ``hold_connection``: keep one connection for every batch (an engine
        of its own, on SQLite: taking one from the pool and giving it back
        cost about 10 us a batch); ``close`` closes it."""
        self._engine = engine
        self._locked_wait = locked_wait
        self._hold = hold_connection
        self._held: sa.Connection | None = None
        self._autocommit = autocommit.supported(engine)
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[_Write] = []
        self._leading = False

    @property
    def queued(self) -> int:
        """Writes waiting for a leader to take them."""
        with self._lock:
            return len(self._queue)

    @property
    def leading(self) -> bool:
        """Whether a writer leads (its batch not committed yet)."""
        with self._lock:
            return self._leading

    def write(self, work: Callable[[sa.Connection], T], *, one_statement: bool = False) -> T:
        """Run ``work`` in a transaction and return its result once committed.

        ``one_statement``: ``work`` runs one statement, which then needs no
        transaction of its own when it is alone in its batch.
        Raises what ``work`` or the commit raised (as SQLAlchemy raises it).
        """
        entry: _Write[T] = _Write(work, one_statement)
        with self._lock:
            self._queue.append(entry)
            entry.leads = not self._leading
            self._leading = True
        if entry.leads:
            # A lead never waits for the work gate: writers queued behind it
            # may hold what the gate's holder waits for (an execution's lock
            # in ``engine.pending``: that deadlocked an API process). So a
            # leader that lets the gate go while another process holds
            # SQLite's write lock takes it back only once it has committed,
            # and one handed the lead commits before it takes it back.
            with GATE.may_let_go() as let_go:
                self._lead(let_go)
            return entry.outcome()
        with GATE.waiting():
            entry.wait()
            if not entry.done:
                self._lead(_keep_waiting)
        return entry.outcome()

    def _lead(self, let_go: Callable[[], None]) -> None:
        with self._lock:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
        for entry in batch:  # until written: the leader may be interrupted
            entry.error = _NotWritten("The write was interrupted before it was committed.")
        try:
            if self._autocommit and len(batch) == 1 and batch[0].one_statement:
                _run_alone(self._engine, batch[0])
            else:
                _commit(self._transaction, batch, self._locked_wait, let_go)
        finally:
            self._pass_the_lead()
            for entry in batch:
                entry.done = True
            for entry in batch[1:]:  # the first is the leader's own
                entry.wake()

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sa.Connection]:
        """A transaction for a batch; only the leader of the moment opens one."""
        if not self._hold:
            with self._engine.begin() as conn:
                yield conn
            return
        if self._held is None:
            self._held = self._engine.connect()
        try:
            with self._held.begin():
                yield self._held
        except sa.exc.DBAPIError as err:
            if err.connection_invalidated:
                self.close()
            raise

    def close(self) -> None:
        """Close the connection held for batches, if any (it opens again on use)."""
        held, self._held = self._held, None
        if held is not None:
            held.close()

    def _pass_the_lead(self) -> None:
        with self._lock:
            if not self._queue:
                self._leading = False
                return
            successor = self._queue[0]
        successor.leads = True
        successor.wake()


def _keep_waiting() -> None:
    """``let_go`` of a leader that does not hold the work gate."""


def _run_alone(engine: sa.Engine, entry: _Write) -> None:
    try:
        with autocommit.connection(engine) as conn:
            entry.result, entry.error = entry.work(conn), None
    except Exception as err:
        entry.error = err


Transaction = Callable[[], contextlib.AbstractContextManager[sa.Connection]]


def _commit(
    transaction: Transaction, batch: list[_Write], locked_wait: float, let_go: Callable[[], None]
) -> None:
    """Run ``batch`` in one transaction; when that fails, each write alone."""
    try:
        results = _run_batch(transaction, batch, locked_wait, let_go)
    except Exception as err:
        if len(batch) == 1:
            batch[0].error = err
            return
        LOG.debug("A batch of %d writes failed (%s); each runs alone", len(batch), err)
        for entry in batch:
            _commit(transaction, [entry], locked_wait, let_go)
        return
    for entry, result in zip(batch, results, strict=True):
        entry.result, entry.error = result, None


def _run_batch(
    transaction: Transaction, batch: list[_Write], locked_wait: float, let_go: Callable[[], None]
) -> list[Any]:
    """The batch's results, committed; tried again while SQLite's write lock
    is another connection's, for up to ``locked_wait`` seconds, with the work
    gate let go (``let_go``) so that others of this process run meanwhile."""
    sleep, deadline = FIRST_LOCKED_SLEEP, time.monotonic() + locked_wait
    while True:
        try:
            with transaction() as conn:
                return [entry.work(conn) for entry in batch]
        except sa.exc.OperationalError as err:
            if not sqlite_locked(err) or time.monotonic() + sleep > deadline:
                raise
        let_go()
        time.sleep(sleep)
        sleep = min(sleep * 2, LAST_LOCKED_SLEEP)


def sqlite_locked(err: sa.exc.DBAPIError) -> bool:
    """Whether SQLite refused for a write lock another connection holds."""
    return getattr(err.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY
