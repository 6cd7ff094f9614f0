"""Sync executions written once: when they end, unless they run long.

A sync execution's caller waits for its result, and most runs take a few
milliseconds: writing the row as ``running`` first and again when it ends
would double the database writes of the warm path. So the row is written
once, as the execution ended, if it ends within ``after`` seconds. One
still running by then is written as ``running`` (claimed by this host, as
before) by a background thread, so that it is listed, can be cancelled and
is reaped should this process die; its end is then an UPDATE as usual.

Until it is written, an execution is not listed and cannot be cancelled;
if this process dies meanwhile, nothing of it is recorded (its caller's
request fails with the connection). Async executions never come here:
they are written before they are accepted (at-least-once).
"""

from __future__ import annotations

import dataclasses
import enum
import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from qinling.db import executions as db_executions
from qinling.db.session import Database
from qinling.engine import records
from qinling.orchestrator import base

LOG = logging.getLogger(__name__)


class _State(enum.Enum):
    HELD = "held"  # not written yet
    WRITTEN = "written"  # written as running: its end is an UPDATE
    ENDED = "ended"


@dataclasses.dataclass(eq=False)
class Held:
    """One sync execution between its acceptance and its end."""

    row: dict[str, Any]
    state: _State = _State.HELD
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock)


# The writer thread sleeps at least this long (or a tenth of ``after``): it
# wakes for the executions due meanwhile at once, not for each (almost all
# of them have ended by then: one wake-up per execution had cost the warm
# path a thread switch). A long run may be written this much later.
MAX_LATENESS = 0.05


class PendingExecutions:
    def __init__(
        self, db: Database, after: float, *, on_long_run: Callable[[str], None] | None = None
    ) -> None:
        """``on_long_run``: told an execution's id before it is written as
        running (where it runs may need to know: ``borrowed.announce``)."""
        self._db = db
        self._on_long_run = on_long_run
        self._after = after
        self._lateness = min(MAX_LATENESS, after / 10)
        self._due: list[tuple[float, int, Held]] = []
        self._order = itertools.count()
        self._wake = threading.Condition(threading.Lock())
        self._closed = False
        self._writer: threading.Thread | None = None

    def hold(self, row: dict[str, Any]) -> Held:
        """Take a new execution's row (``db.executions.new_execution``).

        With ``after`` 0 it is written at once, in the caller's thread.
        """
        held = Held(row)
        if self._after <= 0:
            self._db.write(lambda conn: db_executions.insert(conn, row), one_statement=True)
            held.state = _State.WRITTEN
            return held
        with self._wake:
            due = time.monotonic() + self._after
            heapq.heappush(self._due, (due, next(self._order), held))
            if self._writer is None and not self._closed:
                self._writer = threading.Thread(
                    target=self._write_loop, name="pending-executions", daemon=True
                )
                self._writer.start()
            elif len(self._due) == 1:
                self._wake.notify()
        return held

    def end(self, held: Held, result: base.ExecutionResult) -> dict[str, Any] | None:
        """Record how the run ended: the fields recorded (``records.outcome_of``),
        or None when it had ended otherwise meanwhile (a cancel, the reaper)."""
        values = records.ending(result)
        with held.lock:
            if held.state is _State.HELD:
                held.state = _State.ENDED
                return records.write_ended(self._db, held.row, values)
        return records.update_ended(self._db, held.row["id"], values)

    def close(self) -> None:
        """Stop writing long runs; those still held are written by their ``end``."""
        with self._wake:
            self._closed = True
            self._wake.notify()

    def _write_loop(self) -> None:
        while True:
            due = self._next_due()
            if due is None:
                return
            self._write_running(due)

    def _next_due(self) -> Held | None:
        """The next held execution whose time has come; None once closed."""
        with self._wake:
            while not self._closed:
                if not self._due:
                    self._wake.wait()
                    continue
                wait = self._due[0][0] - time.monotonic()
                if wait > 0:
                    self._wake.wait(max(wait, self._lateness))
                    continue
                held = heapq.heappop(self._due)[2]
                if held.state is _State.HELD:
                    return held
            return None

    def _write_running(self, held: Held) -> None:
        with held.lock:
            if held.state is not _State.HELD:
                return  # it ended first
            if self._on_long_run is not None:
                self._on_long_run(held.row["id"])
            try:
                self._db.write(
                    lambda conn: db_executions.insert(conn, held.row), one_statement=True
                )
            except Exception:  # its end writes it then; this thread goes on
                LOG.warning(
                    "Execution %s still running but not written yet", held.row["id"], exc_info=True
                )
                return
            held.state = _State.WRITTEN
