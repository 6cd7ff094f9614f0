"""Pooled connections on PostgreSQL and MariaDB: pinged only after being idle.

A connection used within ``IDLE_PING_SECONDS`` goes straight to work (no
round trip); one idle longer is pinged, and a dead one is replaced before the
transaction that would have failed on it.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from qinling import exceptions
from qinling.db import session

pytestmark = [pytest.mark.functional, pytest.mark.db_backends("postgresql", "mariadb")]

BACKEND_ID = {"postgresql": "SELECT pg_backend_pid()", "mysql": "SELECT CONNECTION_ID()"}
KILL = {"postgresql": "SELECT pg_terminate_backend({})", "mysql": "KILL {}"}


def _backend_id(database: session.Database, dialect: str) -> int:
    with database.connection() as conn:
        return conn.exec_driver_sql(BACKEND_ID[dialect]).scalar_one()


def _kill(db_url: str, dialect: str, backend: int) -> None:
    other = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    try:
        with other.connect() as conn:
            conn.exec_driver_sql(KILL[dialect].format(backend))
            conn.commit()
    finally:
        other.dispose()


@pytest.fixture
def one_connection(db_url):
    engine = session.create_engine(db_url, pool_size=1, max_overflow=0)
    yield session.Database(engine), engine.dialect.name
    engine.dispose()


def test_an_idle_dead_connection_is_replaced_before_use(db_url, one_connection, monkeypatch):
    database, dialect = one_connection
    killed = _backend_id(database, dialect)
    _kill(db_url, dialect, killed)
    monkeypatch.setattr(session, "IDLE_PING_SECONDS", 0.0)  # as if idle for long

    assert _backend_id(database, dialect) != killed


def test_a_recently_used_connection_is_not_pinged(db_url, one_connection):
    """The trade-off: a connection that died within the last second fails its
    next transaction (503, as during an outage); the pool then replaces it."""
    database, dialect = one_connection
    killed = _backend_id(database, dialect)
    _kill(db_url, dialect, killed)

    with pytest.raises(exceptions.ServiceUnavailable):
        _backend_id(database, dialect)
    assert _backend_id(database, dialect) != killed
