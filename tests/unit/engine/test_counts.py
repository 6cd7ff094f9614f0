"""Functions' execution counts are written in batches, and none is lost to a failed write."""

from __future__ import annotations

import pytest

from qinling import exceptions
from qinling.db import models
from qinling.engine.counts import ExecutionCounts
from tests import processes
from tests.unit.db import rows


def _count(database, function_id: str) -> int:
    with database.transaction() as session:
        return session.get(models.Function, function_id).count


@pytest.fixture
def function_id(database) -> str:
    with database.transaction() as session:
        function = rows.function()
        rows.add(session, function)
        return function.id


def test_counts_are_added_up_and_written_by_the_thread(database, function_id):
    counts = ExecutionCounts(database, interval=0.05)
    try:
        for _ in range(3):
            counts.add(function_id)
        processes.wait_for(lambda: _count(database, function_id) == 3, what="the counts written")
    finally:
        counts.close()


def test_close_writes_what_is_pending(database, function_id):
    counts = ExecutionCounts(database, interval=3600)
    counts.add(function_id)
    assert _count(database, function_id) == 0
    counts.close()
    assert _count(database, function_id) == 1


class _Down:
    """A database that is unavailable until ``up`` is set."""

    def __init__(self, database) -> None:
        self._database = database
        self.up = False

    def connection(self):
        if not self.up:
            raise exceptions.ServiceUnavailable("down")
        return self._database.connection()


def test_a_failed_write_is_tried_again(database, function_id):
    flaky = _Down(database)
    counts = ExecutionCounts(flaky, interval=3600)
    counts.add(function_id)
    counts.flush()
    assert _count(database, function_id) == 0
    flaky.up = True
    counts.add(function_id)
    counts.close()
    assert _count(database, function_id) == 2
