"""Functions' execution counts (``count`` in the API), written in batches.

Every execution adds one to its function's count. Written with each
execution, that UPDATE is a statement on the warm path and, on PostgreSQL
and MySQL, a row lock that concurrent executions of one function queue on.
Counts are added up here instead and written at most once per
``interval``: a count may lag by that much, and a process killed with
SIGKILL loses what it had not written yet (it is a statistic, not a record).
"""

from __future__ import annotations

import collections
import logging
import threading

from qinling.db.session import Database
from qinling.engine import records

LOG = logging.getLogger(__name__)


class ExecutionCounts:
    def __init__(self, db: Database, interval: float = 1.0) -> None:
        self._db = db
        self._interval = interval
        self._pending: collections.Counter[str] = collections.Counter()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = threading.Event()
        self._writer: threading.Thread | None = None

    def add(self, function_id: str) -> None:
        with self._lock:
            self._pending[function_id] += 1
            if self._writer is None:
                self._writer = threading.Thread(
                    target=self._write_loop, name="execution-counts", daemon=True
                )
                self._writer.start()
        self._wake.set()

    def _write_loop(self) -> None:
        while not self._closed.is_set():
            self._wake.wait()
            if self._closed.wait(self._interval):
                return
            self._wake.clear()
            self.flush()

    def flush(self) -> None:
        """Write what was added so far (kept for the next try if that fails)."""
        with self._lock:
            pending, self._pending = self._pending, collections.Counter()
        if not pending:
            return
        try:
            with self._db.connection() as conn:
                conn.execute(
                    records.COUNT_ADD,
                    [{"function_id": fid, "n": n} for fid, n in pending.items()],
                )
        except Exception:
            LOG.warning("Execution counts not written; trying again later", exc_info=True)
            with self._lock:
                self._pending.update(pending)

    def close(self) -> None:
        self._closed.set()
        self._wake.set()
        self.flush()
