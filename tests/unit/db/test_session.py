"""Transactions commit or roll back whole, and errors come out as domain exceptions."""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent import futures

import pytest
import sqlalchemy as sa

from qinling import conf as qinling_conf
from qinling import exceptions
from qinling.db import models, session
from qinling.db.session import Database
from qinling.work_gate import GATE
from tests import processes
from tests.unit.db import rows


def _count(database: Database, model: type) -> int:
    with database.transaction() as session_:
        return session_.scalar(sa.select(sa.func.count()).select_from(model))


def test_two_versions_with_one_number_conflict(database: Database) -> None:
    with database.transaction() as session_:
        function = rows.function()
        rows.add(session_, function)
        rows.add(session_, rows.version(function.id, 1))

    with pytest.raises(exceptions.Conflict), database.transaction() as session_:
        rows.add(session_, rows.version(function.id, 1))
    assert _count(database, models.FunctionVersion) == 1


def test_alias_names_are_unique_per_project(database: Database) -> None:
    with database.transaction() as session_:
        function = rows.function()
        rows.add(session_, function)
        rows.add(session_, rows.alias(function.id, "prod"))
        # The same name in another project is fine.
        rows.add(session_, rows.alias(function.id, "prod", project_id=rows.OTHER_PROJECT))

    with pytest.raises(exceptions.Conflict), database.transaction() as session_:
        rows.add(session_, rows.alias(function.id, "prod"))
    assert _count(database, models.FunctionAlias) == 2


def test_a_conflict_rolls_back_the_whole_transaction(database: Database) -> None:
    with database.transaction() as session_:
        function = rows.function()
        rows.add(session_, function)
        rows.add(session_, rows.version(function.id, 1))

    with pytest.raises(exceptions.Conflict), database.transaction() as session_:
        rows.add(session_, rows.webhook(function.id))
        rows.add(session_, rows.version(function.id, 1))
    assert _count(database, models.Webhook) == 0


def test_an_error_in_the_block_rolls_back(database: Database) -> None:
    with pytest.raises(RuntimeError), database.transaction() as session_:
        rows.add(session_, rows.runtime())
        raise RuntimeError("boom")
    assert _count(database, models.Runtime) == 0


def test_from_conf_defaults_to_sqlite_in_state_dir(tmp_path) -> None:
    state_dir = tmp_path / "state" / "deeper"
    conf = qinling_conf.new_config([])
    conf.set_override("state_dir", str(state_dir))

    database = Database.from_conf(conf)
    try:
        assert database.url == session.default_url(str(state_dir))
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA mmap_size").scalar() == 256 << 20
    finally:
        database.dispose()
    assert os.path.exists(state_dir / "qinling.sqlite")


def test_a_serving_process_checkpoints_sqlite_in_its_own_thread(tmp_path) -> None:
    """Requests' commits only append to the WAL; the checkpoint thread moves
    the pages into the database file (which grows only then)."""
    conf = qinling_conf.new_config([])
    conf.set_override("state_dir", str(tmp_path))
    engine = session.create_engine(session.default_url(str(tmp_path)), autocheckpoint=False)
    models.Base.metadata.create_all(engine)
    db_file = tmp_path / "qinling.sqlite"
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    before = os.path.getsize(db_file)
    database = Database(engine)
    with database.transaction() as session_:
        for _ in range(200):
            rows.add(session_, rows.runtime(description="x" * 200))
    assert os.path.getsize(db_file) == before  # all of it is in the WAL

    checkpoints = session.WalCheckpoints(engine, interval=0.05)
    try:
        processes.wait_for(
            lambda: os.path.getsize(db_file) > before, what="a checkpoint by the thread"
        )
    finally:
        checkpoints.stop()
        database.dispose()
    assert (
        _count(Database(session.create_engine(session.default_url(str(tmp_path)))), models.Runtime)
        == 200
    )


def _checkpoint_threads() -> int:
    return sum(thread.name == "wal-checkpoints" for thread in threading.enumerate())


def test_only_a_serving_process_turns_sqlite_autocheckpoint_off(tmp_path) -> None:
    """A serving process leaves checkpoints to a thread: its own, or where
    it does not checkpoint here, another process's (its commits never do)."""
    conf = qinling_conf.new_config([])
    conf.set_override("state_dir", str(tmp_path))
    before = _checkpoint_threads()
    for serving, here, expected, threads in (
        (False, True, 1000, 0),
        (True, True, 0, 1),
        (True, False, 0, 0),
    ):
        database = Database.from_conf(conf, serving=serving, checkpoints_here=here)
        try:
            with database.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == expected
            assert _checkpoint_threads() - before == threads
        finally:
            database.dispose()


def test_a_sqlite_file_keeps_as_many_connections_as_configured(tmp_path) -> None:
    engine = session.create_engine(f"sqlite:///{tmp_path}/pool.sqlite", pool_size=12)
    opened = []
    sa.event.listen(engine, "connect", lambda *_: opened.append(1))
    try:
        for _ in range(3):
            held = [engine.connect() for _ in range(10)]
            for connection in held:
                connection.close()
        # Ten connections, opened once: none closed and reopened per use.
        assert len(opened) == 10
    finally:
        engine.dispose()


def _insert_runtime(name: str):
    def work(conn: sa.Connection) -> None:
        values = {"name": name, "image": "python3", "status": "available"}
        conn.execute(
            sa.insert(models.Runtime.__table__).values(
                id=models.new_id(), project_id=rows.PROJECT, **values
            )
        )

    return work


def _hold_write_lock(db_file: str) -> sqlite3.Connection:
    """Another process's writer, as SQLite sees it: a connection of its own
    in a write transaction."""
    other = sqlite3.connect(db_file, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    return other


def _shared_conf(tmp_path):
    """The configuration of a server of several processes, on SQLite in ``tmp_path``."""
    conf = qinling_conf.new_config([])
    conf.set_override("state_dir", str(tmp_path))
    conf.set_override("processes", 2, group="api")
    return conf


@pytest.fixture
def served(tmp_path) -> Iterator[Database]:
    """The database of a serving process of several, on SQLite in ``tmp_path``."""
    database = Database.from_conf(_shared_conf(tmp_path), serving=True)
    models.Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


def test_a_write_waits_for_another_writers_lock_then_commits(tmp_path, served) -> None:
    other = _hold_write_lock(str(tmp_path / "qinling.sqlite"))
    try:
        with futures.ThreadPoolExecutor(1) as pool:
            write = pool.submit(served.write, _insert_runtime("waited"))
            # It cannot commit while the lock is held: it keeps trying.
            with pytest.raises(futures.TimeoutError):
                write.result(timeout=0.3)
            other.rollback()
            write.result(timeout=10)
    finally:
        other.close()
    assert (
        _count(Database(session.create_engine(session.default_url(str(tmp_path)))), models.Runtime)
        == 1
    )


def test_a_write_kept_from_the_lock_too_long_fails_as_unavailable(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(session, "SQLITE_BUSY_TIMEOUT", 0.2)
    database = Database.from_conf(_shared_conf(tmp_path), serving=True)
    models.Base.metadata.create_all(database.engine)
    other = _hold_write_lock(str(tmp_path / "qinling.sqlite"))
    try:
        with pytest.raises(exceptions.ServiceUnavailable):
            database.write(_insert_runtime("late"))
    finally:
        other.close()
        database.dispose()


def test_the_group_commits_connections_leave_the_lock_waits_to_it(served) -> None:
    """SQLite's busy handler would sleep 1 ms and more per try."""
    holder: list[int] = []
    served.write(lambda conn: holder.append(conn.exec_driver_sql("PRAGMA busy_timeout").scalar()))
    with served.engine.connect() as connection:
        others = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    assert holder[-1] == 0
    assert others == 10000


def test_with_one_process_writes_use_the_reads_connections(tmp_path) -> None:
    """The connection a write used is the next read's, its page cache warm."""
    conf = qinling_conf.new_config([])
    conf.set_override("state_dir", str(tmp_path))
    database = Database.from_conf(conf, serving=True)
    try:
        models.Base.metadata.create_all(database.engine)
        written_on: list[int] = []
        database.write(lambda conn: written_on.append(id(conn.connection.dbapi_connection)))
        with database.reading() as conn:
            read_on = id(conn.connection.dbapi_connection)
    finally:
        database.dispose()
    assert written_on == [read_on]


class _CountedCheckpoints(session.WalCheckpoints):
    """The checkpoint thread, counting the checkpoints it has done."""

    def __init__(self, engine: sa.Engine, interval: float) -> None:
        self.done = 0
        self._finished = threading.Condition()
        super().__init__(engine, interval)

    def _checkpoint(self) -> None:
        super()._checkpoint()
        with self._finished:
            self.done += 1
            self._finished.notify_all()

    def wait_past(self, done: int) -> None:
        with self._finished:
            assert self._finished.wait_for(lambda: self.done > done, timeout=10)


def test_the_wal_stays_short_while_writes_and_reads_never_pause(tmp_path) -> None:
    """Under steady traffic a passive checkpoint copies the WAL's pages into
    the database but the WAL never starts again from its beginning (some
    reader always uses it), so it grew by every page ever written: 430 MB
    after 13 s of the bench at 2,000 executions/s. The checkpoint thread
    has the next writer start it again.

    The writer goes on while the thread checkpoints, but waits for one more
    checkpoint every ``every`` commits should the thread fall behind: the
    WAL's size was otherwise up to how often a loaded machine let the
    thread run (18 MB once, against 1-2 MB)."""
    engine = session.create_engine(session.default_url(str(tmp_path)), autocheckpoint=False)
    models.Base.metadata.create_all(engine)
    wal = tmp_path / "qinling.sqlite-wal"
    writes, every, page = 3000, 100, 4096
    checkpoints = _CountedCheckpoints(engine, interval=0.01)
    done = threading.Event()

    def write() -> None:
        seen = checkpoints.done
        with engine.connect() as connection:
            for n in range(writes):
                if n and n % every == 0:
                    checkpoints.wait_past(seen)
                    seen = checkpoints.done
                connection.exec_driver_sql(
                    "INSERT INTO runtimes (id, name, image, status, is_public, trusted,"
                    " project_id, created_at)"
                    " VALUES (?, 'r', 'python3', 'available', 1, 1, 'p', '2026-01-01')",
                    (f"runtime-{n}",),
                )
                connection.commit()
        done.set()

    def read() -> None:  # readers overlapping one another, as API threads do
        with engine.connect() as connection:
            while not done.is_set():
                connection.exec_driver_sql("SELECT count(*) FROM runtimes").scalar()
                connection.rollback()

    try:
        with futures.ThreadPoolExecutor(4) as threads:
            running = [threads.submit(read) for _ in range(3)] + [threads.submit(write)]
            for future in running:
                future.result()
        size = os.path.getsize(wal)  # before the last connection closes (and removes it)
    finally:
        checkpoints.stop()
        engine.dispose()
    # Each commit appends its pages (three here): a WAL never started again
    # holds them all (37 MB for 3,000 commits when this was passive; 14-24 MB
    # here with passive checkpoints, 2-3 MB with restarts, 4-7 MB with the
    # two cores kept busy by three other processes).
    assert size < writes * page


def _in_thread(target) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_a_leader_kept_from_the_lock_commits_without_needing_the_gate_back(
    tmp_path, served
) -> None:
    """Found under load (qinling-server, 3 processes): an API process stopped
    answering for good. A request led the group commit and let the work gate
    go while another process held SQLite's write lock. The gate's next holder
    waited for a lock whose holder's write was queued behind that leader, and
    the leader needed the gate back before it could try again."""
    other = _hold_write_lock(str(tmp_path / "qinling.sqlite"))
    lock = threading.Lock()  # an execution's, in ``engine.pending``
    gate_taken = threading.Event()

    def leading_request() -> None:
        with GATE.held():
            served.write(_insert_runtime("leader"))

    def writer_holding_a_lock() -> None:  # the pending executions' writer thread
        with lock:
            served.write(_insert_runtime("queued"))

    def request_waiting_for_the_lock() -> None:
        with GATE.held():
            gate_taken.set()
            with lock:
                pass

    threads = [_in_thread(leading_request)]
    processes.wait_for(lambda: served._writes.leading, what="the request to lead")
    threads.append(_in_thread(writer_holding_a_lock))
    processes.wait_for(lambda: served._writes.queued == 1, what="the writer to queue")
    threads.append(_in_thread(request_waiting_for_the_lock))
    assert gate_taken.wait(30)  # the leader let it go, kept from the lock
    other.rollback()

    deadline = time.monotonic() + 30
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    other.close()
    assert not any(thread.is_alive() for thread in threads)
    with served.transaction() as session_:
        names = set(session_.scalars(sa.select(models.Runtime.name)))
    assert names == {"leader", "queued"}
