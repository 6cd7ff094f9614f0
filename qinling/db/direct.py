"""Core statements run straight on the DB-API cursor: the warm path's two.

Every execution reads its function with its runtime (one SELECT) and
writes its row (one INSERT). Through a Core ``Connection.execute`` each
costs about 25-40 us of Python beyond the driver's own work (the
statement's cache key, an execution context, a result object): measured
in the service, 8% of an execution's CPU for the two. A ``DirectStatement``
is compiled by SQLAlchemy once per dialect and runs on the cursor of the
connection it is given, in that connection's transaction. Parameters and
results go through the type processors SQLAlchemy would use (SQLite's
date-times as text, booleans, JSON), so rows read and written are the same
as through Core, and DB-API errors come out as SQLAlchemy's exceptions
(a lost connection invalidated), so ``Database``'s error mapping holds.

Listeners of the connection's ``before_cursor_execute`` and
``after_cursor_execute`` events (tracing, tests) still see the statement,
without an execution context; ``echo`` logging is done here.
"""

from __future__ import annotations

import collections
import datetime
import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Dialect

SQL_LOG = logging.getLogger("sqlalchemy.engine.Engine")


class _Prepared:
    """One statement compiled for one dialect, with its type processors."""

    def __init__(self, statement: sa.Executable, dialect: Dialect, columns: Sequence[str]) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(columns) or None)
        self.sql = compiled.string
        binds = compiled.binds
        self.names: list[str] = list(compiled.positiontup or binds)
        self.positional = compiled.positional
        self.binders: dict[str, Callable[[Any], Any]] = {}
        for name in self.names:
            process = _binder(binds[name].type, dialect)
            if process is not None:
                self.binders[name] = process
        self._dialect = dialect
        self._selected = list(getattr(statement, "selected_columns", ()))
        self.row_type = collections.namedtuple("Row", [c.key for c in self._selected])  # type: ignore[misc]
        # Some drivers' processors depend on the type the server reports
        # (PostgreSQL's numbers): made from the first result's description.
        self._readers: list[Callable[[Any], Any] | None] | None = None

    def parameters(self, values: dict[str, Any]) -> tuple | dict:
        binders = self.binders
        if self.positional:
            return tuple(binders[n](values[n]) if n in binders else values[n] for n in self.names)
        return {n: binders[n](values[n]) if n in binders else values[n] for n in self.names}

    def row(self, raw: Sequence[Any], description: Sequence[Sequence[Any]]) -> Any:
        readers = self._readers
        if readers is None:
            readers = self._readers = [
                column.type.dialect_impl(self._dialect).result_processor(self._dialect, field[1])
                for column, field in zip(self._selected, description, strict=True)
            ]
        return self.row_type(
            *[
                read(value) if read is not None and value is not None else value
                for read, value in zip(readers, raw, strict=True)
            ]
        )


# SQLite's DATETIME text unless a column asks for another format.
_SQLITE_DATETIME = sqlite.DATETIME._storage_format


def _binder(type_: sa.types.TypeEngine, dialect: Dialect) -> Callable[[Any], Any] | None:
    impl = type_.dialect_impl(dialect)
    process = impl.bind_processor(dialect)
    if isinstance(impl, sqlite.DATETIME) and impl._storage_format == _SQLITE_DATETIME:
        return _sqlite_datetime(process)
    return process


def _sqlite_datetime(fallback: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """SQLite's DATETIME binder, the same text for a naive datetime in a third
    of the time (0.65 us, not 2.4: SQLAlchemy formats a dict of its fields)."""

    def process(value: Any) -> Any:
        if type(value) is datetime.datetime and value.tzinfo is None:
            return value.isoformat(" ", "microseconds")
        return fallback(value)

    return process


class DirectStatement:
    """``statement``, a Core SELECT with bind parameters, or an INSERT
    (``inserts``) of the columns each call gives values for."""

    def __init__(self, statement: sa.Executable, *, inserts: bool = False) -> None:
        self._statement = statement
        self._inserts = inserts
        self._prepared: dict[tuple, _Prepared] = {}
        self._lock = threading.Lock()

    def first(self, conn: sa.Connection, values: dict[str, Any]) -> Any:
        """The first row, as a named tuple of the selected columns; None if none."""
        prepared = self._for(conn.dialect, values)
        found = self._run(conn, prepared, values, fetch=True)
        return None if found is None else prepared.row(*found)

    def execute(self, conn: sa.Connection, values: dict[str, Any]) -> None:
        self._run(conn, self._for(conn.dialect, values), values, fetch=False)

    def _for(self, dialect: Dialect, values: dict[str, Any]) -> _Prepared:
        columns = tuple(values) if self._inserts else ()
        key = (type(dialect), columns)
        prepared = self._prepared.get(key)
        if prepared is None:
            with self._lock:
                prepared = self._prepared.get(key)
                if prepared is None:
                    prepared = self._prepared[key] = _Prepared(self._statement, dialect, columns)
        return prepared

    @staticmethod
    def _run(
        conn: sa.Connection, prepared: _Prepared, values: dict[str, Any], *, fetch: bool
    ) -> tuple[Sequence[Any], Any] | None:
        """The first row and the cursor's description, when ``fetch``."""
        parameters = prepared.parameters(values)
        if conn.engine.echo:
            SQL_LOG.info("%s [direct] %r", prepared.sql, parameters)
        raw_connection = conn.connection
        cursor = raw_connection.cursor()
        sql, events = prepared.sql, conn.dispatch
        try:
            for listener in events.before_cursor_execute:
                sql, parameters = listener(conn, cursor, sql, parameters, None, False)
            cursor.execute(sql, parameters)
            if events.after_cursor_execute:
                events.after_cursor_execute(conn, cursor, sql, parameters, None, False)
            if not fetch:
                return None
            raw = cursor.fetchone()
            return None if raw is None else (raw, cursor.description)
        except conn.dialect.loaded_dbapi.Error as err:
            lost = conn.dialect.is_disconnect(err, raw_connection.dbapi_connection, cursor)
            if lost:
                conn.invalidate(err)
            raise sa.exc.DBAPIError.instance(
                sql,
                parameters,
                err,
                conn.dialect.loaded_dbapi.Error,
                connection_invalidated=lost,
                dialect=conn.dialect,
            ) from err
        finally:
            cursor.close()
