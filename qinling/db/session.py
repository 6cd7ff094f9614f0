"""The database handle: one engine and session factory per process."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.orm import Session, sessionmaker

from qinling import exceptions

LOG = logging.getLogger(__name__)


def default_url(state_dir: str) -> str:
    return "sqlite:///" + os.path.join(state_dir, "qinling.sqlite")


def _tune_sqlite(dbapi_conn, _record) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets readers run beside the single writer; busy_timeout makes
    # writers wait for each other instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_engine(
    url: str,
    *,
    debug: bool = False,
    pool_size: int = 20,
    max_overflow: int = 20,
    pool_timeout: int = 10,
) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, echo=debug, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _tune_sqlite)
        return engine
    return sa.create_engine(
        url,
        echo=debug,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_pre_ping=True,
        pool_recycle=3600,
    )


class Database:
    """Transactions on one database; errors come out as domain exceptions."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def from_conf(cls, conf) -> Database:
        url = conf.database.connection or default_url(conf.state_dir)
        if url.startswith("sqlite:///"):
            os.makedirs(os.path.dirname(os.path.abspath(url[len("sqlite:///") :])), exist_ok=True)
        return cls(
            create_engine(
                url,
                debug=conf.database.connection_debug,
                pool_size=conf.database.max_pool_size,
                max_overflow=conf.database.max_overflow,
                pool_timeout=conf.database.pool_timeout,
            )
        )

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=False)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session in one transaction, committed when the block ends."""
        with self._mapped_errors(), self._sessions.begin() as session:
            yield session

    @contextlib.contextmanager
    def connection(self) -> Iterator[sa.Connection]:
        """A Core connection in one transaction, for hot paths: no ORM cost."""
        with self._mapped_errors(), self.engine.begin() as conn:
            yield conn

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
        self.engine.dispose()


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
