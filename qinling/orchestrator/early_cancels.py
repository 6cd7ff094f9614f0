"""Cancels that reach a driver before the run they cancel.

An engine claims an execution, then hands it to its driver's
``run_execution``. A cancel that comes between the two finds nothing to stop
in the driver, yet the run would still start: the function would run for an
execution already recorded ``cancelled`` and hold a worker meanwhile. So a
driver remembers a cancel of an execution it does not have, for a while, and
a run of it that starts later ends at once. Most such cancels are of
executions no engine will run (not claimed, or claimed elsewhere): they are
forgotten after ``MAX_AGE`` seconds, or when ``MAX_KEPT`` newer ones came.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

MAX_AGE = 600.0
MAX_KEPT = 10_000


class EarlyCancels:
    """Not thread-safe: the driver calls it under its own lock."""

    def __init__(
        self,
        *,
        max_age: float = MAX_AGE,
        max_kept: int = MAX_KEPT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_age = max_age
        self._max_kept = max_kept
        self._clock = clock
        self._kept: collections.OrderedDict[str, float] = collections.OrderedDict()

    def remember(self, execution_id: str) -> None:
        now = self._clock()
        self._kept[execution_id] = now
        self._kept.move_to_end(execution_id)
        while self._kept and (len(self._kept) > self._max_kept or self._expired(now)):
            self._kept.popitem(last=False)

    def _expired(self, now: float) -> bool:
        """Whether the oldest kept cancel is too old to matter."""
        return next(iter(self._kept.values())) < now - self._max_age

    def take(self, execution_id: str) -> bool:
        """Whether a run of ``execution_id`` was cancelled before it started
        (forgotten then: a cancel stops one run)."""
        when = self._kept.pop(execution_id, None)
        return when is not None and when >= self._clock() - self._max_age
