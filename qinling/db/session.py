"""The database handle: one engine and session factory per process."""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.orm import Session, sessionmaker

from qinling import exceptions
from qinling.db import autocommit, spec_changes
from qinling.db.group_commit import GroupCommit, sqlite_locked
from qinling.db.run_targets import RunTargets
from qinling.work_gate import GATE

LOG = logging.getLogger(__name__)

T = TypeVar("T")


def default_url(state_dir: str) -> str:
    return "sqlite:///" + os.path.join(state_dir, "qinling.sqlite")


# How long an SQLite writer waits for another's write lock before failing.
SQLITE_BUSY_TIMEOUT = 10.0
# How long a checkpoint waits for the WAL's readers to finish, writers
# waiting behind it (``WalCheckpoints``).
RESTART_WAIT_MS = 5
# The size a WAL file is cut back to when it starts again after a burst.
WAL_SIZE_LIMIT = 64 * 1024 * 1024


def _tune_sqlite(
    dbapi_conn, _record, *, autocheckpoint: bool = True, waits_for_lock: bool = True
) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets readers run beside the single writer; busy_timeout makes
    # writers wait for each other instead of failing at once (the group
    # commit's connections do their waiting themselves: ``group_commit``).
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    busy_ms = int(SQLITE_BUSY_TIMEOUT * 1000) if waits_for_lock else 0
    cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
    cursor.execute("PRAGMA foreign_keys=ON")
    # Pages of the database file are read through a mapping instead of one
    # pread call each (six per execution here); the mapping is the page
    # cache's own memory, shared by every connection and process.
    cursor.execute("PRAGMA mmap_size=268435456")
    cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
    if not autocheckpoint:
        # The commit that fills the WAL would copy it back into the database
        # and fsync, inside somebody's request (measured: p99 of an INSERT
        # 0.93 ms with it, 0.30 ms without); WalCheckpoints does it instead.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


class WalCheckpoints:
    """Checkpoints a SQLite WAL from a thread of its own, every ``interval`` s.

    A checkpoint copies the WAL's pages into the database, but the WAL
    starts again from its beginning only when a writer finds that no reader
    still uses it; under steady traffic some reader always does, and with
    passive checkpoints alone the WAL grew by every page written (430 MB
    after 13 s at 2,000 executions/s). So each passive checkpoint is
    followed by a RESTART: it waits, at most ``RESTART_WAIT_MS``, for the
    readers of the WAL to finish, and the next write starts the WAL again.
    Should it not get there in time, the next one tries again.

    A RESTART holds SQLite's write lock from start to end, copying and
    syncing included: every writer of the file waits meanwhile. The passive
    checkpoint before it copies and syncs with writers going on, so the
    RESTART is left the pages written since (measured at 32 concurrent
    executions: the write lock held 6-19 ms, against 19-31 ms).
    One process per file does this (``Database.from_conf``).
    """

    def __init__(self, engine: sa.Engine, interval: float = 1.0) -> None:
        self._engine = engine
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoints", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._checkpoint()
            except exc.DBAPIError as err:
                LOG.warning("SQLite checkpoint failed: %s", err.orig)

    def _checkpoint(self) -> None:
        with self._engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            started = time.perf_counter()
            waits = conn.exec_driver_sql("PRAGMA busy_timeout").scalar()
            conn.exec_driver_sql(f"PRAGMA busy_timeout={RESTART_WAIT_MS}")
            try:
                busy, _, copied = conn.exec_driver_sql("PRAGMA wal_checkpoint(RESTART)").one()
            finally:  # the pool's next user of the connection waits as before
                conn.exec_driver_sql(f"PRAGMA busy_timeout={waits}")
        LOG.debug(
            "SQLite WAL checkpoint: %d frame(s) in all; the restart %s in %.1f ms",
            copied,
            "gave up on readers" if busy else "done",
            (time.perf_counter() - started) * 1000,
        )

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def create_engine(
    url: str,
    *,
    debug: bool = False,
    pool_size: int = 20,
    max_overflow: int = 20,
    pool_timeout: int = 10,
    autocheckpoint: bool = True,
    waits_for_lock: bool = True,
) -> sa.Engine:
    """``autocheckpoint=False``: SQLite leaves WAL checkpoints to ``WalCheckpoints``;
    ``waits_for_lock=False``: an SQLite write fails at once while another
    connection holds the write lock (for ``GroupCommit``'s own waits)."""
    if url.startswith("sqlite"):
        # A file's pool is sized as configured too: a connection beyond the
        # pool is opened and closed for each use, and opening one runs the
        # PRAGMAs below. (An in-memory database has one connection per thread.)
        # Last in, first out: the connection just used is taken again, its
        # page cache still valid; handed round, each found the database
        # changed by the others and read it again (five system calls).
        sizes = {}
        if _is_sqlite_file(url):
            sizes = dict(
                pool_size=pool_size,
                max_overflow=max_overflow,
                pool_timeout=pool_timeout,
                pool_use_lifo=True,
            )
        engine = sa.create_engine(
            url, echo=debug, connect_args={"check_same_thread": False}, **sizes
        )
        tune = functools.partial(
            _tune_sqlite, autocheckpoint=autocheckpoint, waits_for_lock=waits_for_lock
        )
        event.listen(engine, "connect", tune)
        return engine
    engine = sa.create_engine(
        url,
        echo=debug,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_recycle=3600,
        pool_use_lifo=True,
    )
    event.listen(engine, "checkin", _note_checkin)
    event.listen(engine, "checkout", _ping_if_idle)
    return engine


# A pooled connection idle longer than this is pinged before use. SQLAlchemy's
# pool_pre_ping pings on every checkout: a round trip on each transaction of
# the warm path, while a connection reused within a second is as good as pinged.
IDLE_PING_SECONDS = 1.0


def _note_checkin(_dbapi_conn, record) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(dbapi_conn, record, _proxy) -> None:
    if time.monotonic() - record.info.get("checked_in", 0.0) < IDLE_PING_SECONDS:
        return
    try:
        cursor = dbapi_conn.cursor()
        try:
            cursor.execute("SELECT 1")
        finally:
            cursor.close()
        # Leave no transaction open: a connection for statements without
        # one (``db.autocommit``) cannot switch inside a transaction.
        dbapi_conn.rollback()
    except Exception as err:
        # The pool discards this connection and checks out another (a restarted
        # server, a connection closed while idle).
        raise exc.DisconnectionError(f"The pooled connection is gone: {err}") from err


class Database:
    """Transactions on one database; errors come out as domain exceptions."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        checkpoints: WalCheckpoints | None = None,
        writes: sa.Engine | None = None,
    ) -> None:
        """``writes``: the group commit's own engine, on the same SQLite file,
        whose connections do not wait for the write lock (``create_engine``)."""
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # Moved by every committed change of what running a function reads,
        # where all writers share it (SQLite); None otherwise.
        self.spec_changes = spec_changes.for_url(engine.url.render_as_string(hide_password=False))
        # The function rows executions read, kept until they change; one
        # set for every user of this Database (the engine's loader, the API).
        self.run_targets: RunTargets | None = None
        if self.spec_changes is not None:
            spec_changes.watch(self._sessions, self.spec_changes)
            self.run_targets = RunTargets(self.spec_changes)
        self._checkpoints = checkpoints
        self._writes_engine = writes
        if writes is not None:
            self._writes = GroupCommit(
                writes, locked_wait=SQLITE_BUSY_TIMEOUT, hold_connection=True
            )
        else:
            self._writes = GroupCommit(engine)
        # A server's round trips are waits (see ``work_gate``); SQLite's
        # statements run in this process, in microseconds.
        self._remote = engine.dialect.name != "sqlite"
        self._autocommit = autocommit.supported(engine)

    @classmethod
    def from_conf(cls, conf, *, serving: bool = False, checkpoints_here: bool = True) -> Database:
        """``serving``: for a long-running service process; on SQLite its own
        thread then checkpoints the WAL, not the requests' commits, unless
        not ``checkpoints_here``: where another process of the same service
        checkpoints the file (qinling-server's other API processes). Each
        checkpoint holds every process's writes back for milliseconds, and
        one copies what all of them wrote. With ``[api] processes`` > 1 the
        SQLite file is every process's: the group commit then waits for the
        write lock itself (``group_commit``)."""
        url = conf.database.connection or default_url(conf.state_dir)
        if url.startswith("sqlite:///"):
            os.makedirs(os.path.dirname(os.path.abspath(url[len("sqlite:///") :])), exist_ok=True)
        background = serving and url.startswith("sqlite")
        engine = create_engine(
            url,
            debug=conf.database.connection_debug,
            pool_size=conf.database.max_pool_size,
            max_overflow=conf.database.max_overflow,
            pool_timeout=conf.database.pool_timeout,
            autocheckpoint=not background,
        )
        writes = None
        if _is_sqlite_file(url) and conf.api.processes > 1:
            # Several processes write the file: the group commit gets a held
            # connection of its own that leaves the lock waits to it. With one
            # process, the write's connection is the next read's, its page
            # cache warm (a connection of the writes' own cost each read ~50 us).
            writes = create_engine(
                url,
                debug=conf.database.connection_debug,
                pool_size=1,
                max_overflow=2,
                pool_timeout=conf.database.pool_timeout,
                autocheckpoint=not background,
                waits_for_lock=False,
            )
        checkpoints = WalCheckpoints(engine) if background and checkpoints_here else None
        return cls(engine, checkpoints=checkpoints, writes=writes)

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction, committed when the block ends."""
        with self._waiting(), self._mapped_errors(), self._sessions.begin() as session:
            yield session

    @contextlib.contextmanager
    def connection(self) -> Iterator[sa.Connection]:
        """A Core connection in one transaction, for hot paths: no ORM cost."""
        with self._waiting(), self._mapped_errors(), self.engine.begin() as conn:
            yield conn

    @contextlib.contextmanager
    def reading(self) -> Iterator[sa.Connection]:
        """A Core connection for reads only, for hot paths: on PostgreSQL
        each statement runs alone (see ``db.autocommit``), reading one
        snapshot as in a READ COMMITTED transaction; elsewhere it is
        ``connection``."""
        opened = autocommit.connection(self.engine) if self._autocommit else self.engine.begin()
        with self._waiting(), self._mapped_errors(), opened as conn:
            yield conn

    def write(self, work: Callable[[sa.Connection], T], *, one_statement: bool = False) -> T:
        """Run ``work`` (Core statements on the connection it is given) in a
        transaction committed together with other threads' writes; its
        result once committed. ``work`` may run twice: it must do nothing
        but its statements (see ``group_commit``). For the writes of every
        execution, where commits dominate under load.

        ``one_statement``: ``work`` runs one statement; alone in its batch
        on PostgreSQL it runs without a transaction (see ``db.autocommit``).
        """
        with self._waiting(), self._mapped_errors():
            return self._writes.write(work, one_statement=one_statement)

    def _waiting(self) -> contextlib.AbstractContextManager[None]:
        return GATE.waiting() if self._remote else contextlib.nullcontext()

    @contextlib.contextmanager
    def _mapped_errors(self) -> Iterator[None]:
        try:
            yield
        except exc.IntegrityError as err:
            LOG.info("Integrity error: %s", err.orig)
            raise exceptions.Conflict(
                "The request conflicts with an existing resource (a duplicate "
                "name or a reference to something that does not exist)."
            ) from err
        except (exc.OperationalError, exc.InterfaceError) as err:
            if sqlite_locked(err):
                LOG.warning("Database busy: %s", err.orig)
                raise exceptions.ServiceUnavailable(
                    "The database is busy (another writer held it too long); try again shortly."
                ) from err
            if _is_outage(err):
                LOG.warning("Database unavailable: %s", err.orig)
                raise exceptions.ServiceUnavailable(
                    "The database is unavailable; try again shortly."
                ) from err
            raise
        except exc.TimeoutError as err:
            raise exceptions.ServiceUnavailable(
                "The database is overloaded (no free connection); try again shortly."
            ) from err

    def dispose(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.stop()
        self.engine.dispose()
        if self._writes_engine is not None:
            self._writes.close()
            self._writes_engine.dispose()


def _is_sqlite_file(url: str) -> bool:
    parsed = sa.make_url(url)
    return parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:")


def _is_outage(err: exc.DBAPIError) -> bool:
    if err.connection_invalidated:
        return True
    text = str(err.orig).lower()
    return any(
        marker in text
        for marker in (
            "connection",
            "server closed",
            "can't connect",
            "lost",
            "gone away",
            "terminating",
            "shutting down",
            "timeout",
        )
    )
