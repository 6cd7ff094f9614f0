"""Reads and one-statement writes without a transaction (``db.autocommit``):
committed as before, and the pooled connection back in transactions after."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from qinling import exceptions
from qinling.db import models, session
from qinling.db.session import Database
from tests.unit.db import rows

RUNTIMES = models.Runtime.__table__


def _insert(name: str, runtime_id: str | None = None):
    def work(conn: sa.Connection) -> str:
        conn.execute(
            sa.insert(RUNTIMES).values(
                id=runtime_id or models.new_id(),
                project_id=rows.PROJECT,
                name=name,
                image="python3",
                status="available",
            )
        )
        return name

    return work


def _names(database: Database) -> set[str]:
    with database.engine.connect() as conn:
        return set(conn.scalars(sa.select(RUNTIMES.c.name)))


def _rolled_back_insert(database: Database) -> None:
    """A transaction that fails after its insert; raises nothing."""
    with pytest.raises(RuntimeError), database.connection() as conn:
        _insert("rolled back")(conn)
        raise RuntimeError("undo")


@pytest.fixture
def one_connection(database: Database, db_url: str):
    """``database`` (emptied) with one pooled connection: every block takes the same one."""
    engine = session.create_engine(db_url, pool_size=1, max_overflow=0)
    yield Database(engine)
    engine.dispose()


def test_a_one_statement_write_is_committed(one_connection: Database) -> None:
    assert one_connection.write(_insert("alone"), one_statement=True) == "alone"
    assert _names(one_connection) == {"alone"}


def test_after_a_one_statement_write_a_transaction_still_rolls_back(
    one_connection: Database,
) -> None:
    one_connection.write(_insert("kept"), one_statement=True)
    _rolled_back_insert(one_connection)
    assert _names(one_connection) == {"kept"}


def test_after_a_read_a_transaction_still_rolls_back(one_connection: Database) -> None:
    one_connection.write(_insert("kept"))
    with one_connection.reading() as conn:
        assert list(conn.scalars(sa.select(RUNTIMES.c.name))) == ["kept"]
    _rolled_back_insert(one_connection)
    assert _names(one_connection) == {"kept"}


def test_a_failing_one_statement_write_raises_and_the_next_one_works(
    one_connection: Database,
) -> None:
    taken = models.new_id()
    one_connection.write(_insert("first", runtime_id=taken), one_statement=True)
    with pytest.raises(exceptions.Conflict):
        one_connection.write(_insert("duplicate", runtime_id=taken), one_statement=True)
    assert one_connection.write(_insert("next"), one_statement=True) == "next"
    assert _names(one_connection) == {"first", "next"}


def test_a_connection_pinged_after_idling_takes_a_one_statement_write(
    one_connection: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ping must leave no transaction open (psycopg2 cannot switch to
    autocommit inside one)."""
    one_connection.write(_insert("before"))
    monkeypatch.setattr(session, "IDLE_PING_SECONDS", 0.0)  # as if idle for long
    assert one_connection.write(_insert("after"), one_statement=True) == "after"
    with one_connection.reading() as conn:
        assert set(conn.scalars(sa.select(RUNTIMES.c.name))) == {"before", "after"}
