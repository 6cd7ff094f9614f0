"""Writes of concurrent threads are committed together, each with its own result or error."""

from __future__ import annotations

import threading
from concurrent import futures

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from qinling import exceptions
from qinling.db import models
from qinling.db.group_commit import GroupCommit
from qinling.db.session import Database
from tests import processes
from tests.unit.db import rows

RUNTIMES = models.Runtime.__table__


def _add_runtime(name: str, runtime_id: str | None = None):
    """A write adding a runtime named ``name``; its result is ``name``."""

    def work(conn: sa.Connection) -> str:
        values = {"name": name, "image": "python3", "status": "available"}
        conn.execute(
            sa.insert(RUNTIMES).values(
                id=runtime_id or models.new_id(), project_id=rows.PROJECT, **values
            )
        )
        return name

    return work


def _names(database: Database) -> set[str]:
    with database.engine.connect() as conn:
        return set(conn.scalars(sa.select(RUNTIMES.c.name)))


def _commits(engine: sa.Engine) -> list[int]:
    counted = [0]

    def count(_conn) -> None:
        counted[0] += 1

    event.listen(engine, "commit", count)
    return counted


def test_a_write_returns_its_result_once_committed(database: Database) -> None:
    assert database.write(_add_runtime("one")) == "one"
    assert _names(database) == {"one"}


def test_writes_waiting_for_a_commit_are_committed_together(database: Database) -> None:
    group = GroupCommit(database.engine)
    commits = _commits(database.engine)
    first_may_end = threading.Event()

    def first(conn: sa.Connection) -> str:
        _add_runtime("first")(conn)
        first_may_end.wait(30)
        return "first"

    with futures.ThreadPoolExecutor(9) as pool:
        leading = pool.submit(group.write, first)
        processes.wait_for(lambda: group.queued == 0, what="the first write to lead")
        followers = [pool.submit(group.write, _add_runtime(f"r{i}")) for i in range(8)]
        processes.wait_for(lambda: group.queued == 8, what="8 writes to queue")
        first_may_end.set()
        assert leading.result(30) == "first"
        assert sorted(f.result(30) for f in followers) == [f"r{i}" for i in range(8)]

    assert _names(database) == {"first"} | {f"r{i}" for i in range(8)}
    # The first alone, then the eight queued behind it in one transaction.
    assert commits[0] == 2


def test_a_failing_write_fails_alone(database: Database) -> None:
    taken = models.new_id()
    database.write(_add_runtime("existing", runtime_id=taken))
    group_entry = threading.Event()
    release = threading.Event()

    def hold(conn: sa.Connection) -> None:
        group_entry.set()
        release.wait(30)

    with futures.ThreadPoolExecutor(4) as pool:
        holder = pool.submit(database.write, hold)
        group_entry.wait(30)
        good = pool.submit(database.write, _add_runtime("good"))
        duplicate = pool.submit(database.write, _add_runtime("duplicate", runtime_id=taken))
        also_good = pool.submit(database.write, _add_runtime("also good"))
        processes.wait_for(lambda: database._writes.queued == 3, what="3 writes to queue")
        release.set()
        holder.result(30)
        with pytest.raises(exceptions.Conflict):
            duplicate.result(30)
        assert good.result(30) == "good"
        assert also_good.result(30) == "also good"

    assert _names(database) == {"existing", "good", "also good"}


def test_an_error_raised_by_the_work_reaches_its_writer(database: Database) -> None:
    def broken(conn: sa.Connection) -> None:
        _add_runtime("never")(conn)
        raise exceptions.NotFound("gone")

    with pytest.raises(exceptions.NotFound, match="gone"):
        database.write(broken)
    assert _names(database) == set()
    assert database.write(_add_runtime("after")) == "after"


def test_many_threads_each_get_their_own_result(database: Database) -> None:
    with futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda i: database.write(_add_runtime(f"n{i}")), range(200)))
    assert results == [f"n{i}" for i in range(200)]
    assert len(_names(database)) == 200


def test_a_held_connection_serves_every_batch_until_closed(database: Database) -> None:
    group = GroupCommit(database.engine, hold_connection=True)
    checkouts = []
    event.listen(database.engine, "checkout", lambda *_: checkouts.append(1))
    try:
        assert [group.write(_add_runtime(f"r{n}")) for n in range(3)] == ["r0", "r1", "r2"]
        assert len(checkouts) == 1
        group.close()
        group.write(_add_runtime("after"))
        assert len(checkouts) == 2
    finally:
        group.close()
    assert _names(database) == {"r0", "r1", "r2", "after"}


def test_a_failed_batch_on_a_held_connection_leaves_it_usable(database: Database) -> None:
    group = GroupCommit(database.engine, hold_connection=True)
    try:
        group.write(_add_runtime("one", runtime_id="same-id"))
        with pytest.raises(sa.exc.IntegrityError):
            group.write(_add_runtime("two", runtime_id="same-id"))
        assert group.write(_add_runtime("three")) == "three"
    finally:
        group.close()
    assert _names(database) == {"one", "three"}
