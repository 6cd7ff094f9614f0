"""Statements without a transaction around them, where that saves round trips.

On PostgreSQL a transaction of one statement costs three round trips to the
server (BEGIN, the statement, COMMIT); in autocommit it costs one, and the
statement is as atomic and reads one snapshot as it would in a transaction.
On the split warm path (the API's read, the engine's write) that saved
about 0.5 ms of an execution's 5 ms.

Only psycopg2 switches autocommit on the client side alone; PyMySQL would
send a statement each way, and SQLite runs in process: elsewhere the
callers keep their transactions.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import sqlalchemy as sa


def supported(engine: sa.Engine) -> bool:
    return engine.dialect.driver == "psycopg2"


@contextlib.contextmanager
def connection(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A Core connection whose statements each commit on their own.

    Switched on the DB-API connection, not through SQLAlchemy's isolation
    levels: resetting a level when the connection goes back to the pool
    sends a SET. SQLAlchemy's rollbacks on close find no transaction and
    send nothing.
    """
    with engine.connect() as conn:
        dbapi_conn = conn.connection.dbapi_connection
        dbapi_conn.autocommit = True
        try:
            yield conn
        finally:
            if not dbapi_conn.closed:  # not invalidated by a lost server
                dbapi_conn.autocommit = False
