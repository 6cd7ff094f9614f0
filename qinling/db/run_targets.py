"""What running a function needs, kept between its executions.

A sync execution reads its function (or version) with its runtime before it
runs (``records.RUN_QUERY``). Where the database tells of every change to
those rows (``db.spec_changes``: SQLite), a process keeps the row it read
for the next executions of the same function version until anything of the
functions, versions, aliases or runtimes changes: a warm execution then
costs the database one statement, its write. A change made behind the
service's back (a statement typed into ``sqlite3``) is seen within
``MAX_AGE``.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from typing import Any

from qinling.db.executions import AliasLookup, Lookup
from qinling.db.spec_changes import SpecChanges

MAX_ENTRIES = 4096
MAX_AGE = 10.0  # seconds


@dataclasses.dataclass(frozen=True)
class _Entry:
    row: Any
    generation: int
    read_at: float


class RunTargets:
    """Rows of ``records.RUN_QUERY`` by (function id, version), and alias
    rows by (project, name); thread-safe."""

    def __init__(
        self,
        changes: SpecChanges,
        *,
        max_entries: int = MAX_ENTRIES,
        max_age: float = MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._changes = changes
        self._max_entries = max_entries
        self._max_age = max_age
        self._clock = clock
        self._entries: dict[tuple, _Entry] = {}
        self._lock = threading.Lock()  # for removals; a hit takes none

    def generation(self) -> int:
        """To be read before the rows that ``remember`` is then given."""
        return self._changes.value()

    def get(self, function_id: str, version: int) -> Any | None:
        """The row, if nothing it was read from has changed since."""
        return self._fresh((function_id, version))

    def alias(self, project: str, name: str) -> Any | None:
        """The alias row (``db.executions``' alias query), if still current."""
        return self._fresh(_alias_key(project, name))

    def _fresh(self, key: tuple) -> Any | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.generation != self._changes.value() or (
            self._clock() - entry.read_at > self._max_age
        ):
            with self._lock:
                self._entries.pop(key, None)
            return None
        return entry.row

    def visible(self, function_id: str, version: int, scope: str | None) -> Any | None:
        """``get``, for a caller of project ``scope`` (None: any project)."""
        row = self.get(function_id, version)
        return row if row is not None and scope in (None, row.project_id) else None

    def wrap(self, lookup: Lookup) -> Lookup:
        """``lookup`` answered from the rows kept here where it can be, and
        its answers kept. ``lookup`` returns a ``records.RUN_QUERY`` row (or
        None, or raises NotFound, as ``db.executions.Lookup``)."""

        def cached(conn: Any, function_id: str, version: int, scope: str | None) -> Any:
            version = version or 0
            row = self.visible(function_id, version, scope)
            if row is not None:
                return row
            key = (function_id, version)
            return self._read(key, lambda: lookup(conn, function_id, version, scope))

        return cached

    def wrap_alias(self, lookup: AliasLookup) -> AliasLookup:
        """``wrap`` for the lookup of an alias by project and name."""

        def cached(conn: Any, project: str, name: str) -> Any:
            row = self.alias(project, name)
            if row is not None:
                return row
            return self._read(_alias_key(project, name), lambda: lookup(conn, project, name))

        return cached

    def _read(self, key: tuple, read: Callable[[], Any]) -> Any:
        """What ``read`` returns, kept under ``key`` with the generation seen before it read."""
        generation = self.generation()
        row = read()
        self._keep(key, row, generation)
        return row

    def remember(self, function_id: str, version: int, row: Any, generation: int) -> None:
        """Keep ``row``, read after ``generation()`` gave ``generation``."""
        self._keep((function_id, version), row, generation)

    def _keep(self, key: tuple, row: Any, generation: int) -> None:
        if row is None:
            return
        entry = _Entry(row, generation, self._clock())
        with self._lock:
            if len(self._entries) >= self._max_entries:
                del self._entries[next(iter(self._entries))]  # the oldest
            self._entries[key] = entry


def _alias_key(project: str, name: str) -> tuple[str, str, str]:
    """Apart from the (function id, version) keys: a 3-tuple."""
    return ("alias", project, name)
