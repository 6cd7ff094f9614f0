"""Statements run on the DB-API cursor read and write exactly what Core would."""

from __future__ import annotations

import datetime

import pytest
import sqlalchemy as sa

from qinling import exceptions
from qinling.db import models
from qinling.db.direct import DirectStatement
from qinling.db.session import Database
from qinling.engine import records
from tests.unit.db import rows

EXECUTIONS = models.Execution.__table__
BY_ID = sa.select(EXECUTIONS).where(EXECUTIONS.c.id == sa.bindparam("id"))
WHEN = datetime.datetime(2026, 12, 5, 4, 23, 11, 123456)


def _function(database: Database) -> str:
    with database.transaction() as session:
        runtime = rows.runtime(trusted=False)
        rows.add(session, runtime)
        function = rows.function(runtime_id=runtime.id, environment={"A": "1", "B": "two"})
        rows.add(session, function)
        return function.id


def _execution(function_id: str, **values) -> dict:
    return {
        "id": models.new_id(),
        "function_id": function_id,
        "function_version": 0,
        "function_alias": None,
        "description": "direct",
        "input": '{"a": 1}',
        "result": '{"output": "ok"}',
        "logs": "log line\n",
        "status": "success",
        "sync": True,
        "cold_start": False,
        "init_duration": None,
        "duration": 0.25,
        "memory_peak": 1 << 33,
        "engine_host": "host-1",
        "started_at": WHEN,
        "finished_at": WHEN + datetime.timedelta(seconds=1),
        "project_id": rows.PROJECT,
        "created_at": WHEN,
        "updated_at": None,
    } | values


def test_a_select_reads_what_core_reads(database: Database) -> None:
    function_id = _function(database)
    direct = DirectStatement(records.RUN_QUERY)
    params = {"function_id": function_id, "version": 0}
    with database.connection() as conn:
        ours = direct.first(conn, params)
        core = conn.execute(records.RUN_QUERY, params).first()
        missing = direct.first(conn, {"function_id": "nothing", "version": 0})
    assert ours._fields == tuple(core._fields)
    assert tuple(ours) == tuple(core)
    assert (ours.trusted, ours.environment) == (False, {"A": "1", "B": "two"})
    assert missing is None


def test_an_insert_writes_what_core_writes(database: Database) -> None:
    function_id = _function(database)
    insert = DirectStatement(sa.insert(EXECUTIONS), inserts=True)
    ours, core = _execution(function_id), _execution(function_id)
    database.write(lambda conn: insert.execute(conn, ours))
    with database.connection() as conn:
        conn.execute(sa.insert(EXECUTIONS), core)
    with database.connection() as conn:
        written = conn.execute(BY_ID, {"id": ours["id"]}).first()._asdict()
        expected = conn.execute(BY_ID, {"id": core["id"]}).first()._asdict()
        read_direct = DirectStatement(BY_ID).first(conn, {"id": ours["id"]})._asdict()
    assert written == expected | {"id": ours["id"]}
    # (MariaDB keeps whole seconds, here as through Core)
    assert written["started_at"] in (WHEN, WHEN.replace(microsecond=0))
    assert (written["sync"], written["memory_peak"], written["duration"]) == (True, 1 << 33, 0.25)
    assert read_direct == written


def test_an_insert_of_fewer_columns_is_another_statement(database: Database) -> None:
    function_id = _function(database)
    insert = DirectStatement(sa.insert(EXECUTIONS), inserts=True)
    row = _execution(function_id)
    del row["logs"], row["result"]
    database.write(lambda conn: insert.execute(conn, row))
    database.write(lambda conn: insert.execute(conn, _execution(function_id)))
    with database.connection() as conn:
        found = conn.execute(BY_ID, {"id": row["id"]}).first()
    assert (found.logs, found.result, found.status) == (None, None, "success")


def test_database_errors_come_out_as_sqlalchemys(database: Database) -> None:
    function_id = _function(database)
    insert = DirectStatement(sa.insert(EXECUTIONS), inserts=True)
    row = _execution(function_id)
    database.write(lambda conn: insert.execute(conn, row))
    with pytest.raises(exceptions.Conflict):
        database.write(lambda conn: insert.execute(conn, row))
    with pytest.raises(sa.exc.IntegrityError), database.engine.begin() as conn:
        insert.execute(conn, row)


def test_cursor_event_listeners_see_the_statement(database: Database) -> None:
    function_id = _function(database)
    seen = []

    def listen(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement.split()[0])

    sa.event.listen(database.engine, "before_cursor_execute", listen)
    try:
        with database.connection() as conn:
            DirectStatement(records.RUN_QUERY).first(
                conn, {"function_id": function_id, "version": 0}
            )
    finally:
        sa.event.remove(database.engine, "before_cursor_execute", listen)
    assert seen == ["SELECT"]


@pytest.mark.db_backends("sqlite")  # the binder it checks is SQLite's
@pytest.mark.parametrize(
    "when",
    [
        WHEN,
        WHEN.replace(microsecond=0),
        datetime.datetime(999, 1, 2, 3, 4, 5, 6),
        WHEN.replace(tzinfo=datetime.UTC),  # SQLAlchemy's own binder then
    ],
)
def test_sqlite_stores_the_very_text_core_stores(database: Database, when) -> None:
    """Text, not parsed back: SQL compares and orders SQLite's times as text."""
    function_id = _function(database)
    insert = DirectStatement(sa.insert(EXECUTIONS), inserts=True)
    ours = _execution(function_id, started_at=when, created_at=when)
    core = _execution(function_id, started_at=when, created_at=when)
    database.write(lambda conn: insert.execute(conn, ours))
    with database.connection() as conn:
        conn.execute(sa.insert(EXECUTIONS), core)
        raw = "SELECT started_at, created_at FROM executions WHERE id = ?"
        written = conn.exec_driver_sql(raw, (ours["id"],)).one()
        expected = conn.exec_driver_sql(raw, (core["id"],)).one()
    assert tuple(written) == tuple(expected)
    assert isinstance(written[0], str)
