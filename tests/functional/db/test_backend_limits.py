"""What differs between backends: big texts, odd dates, a server that is down."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from qinling import exceptions
from qinling.context import RequestContext
from qinling.db import filters, models, queries, session
from qinling.db.session import Database
from tests.unit.db import rows

pytestmark = pytest.mark.functional

MEGABYTE = 1024 * 1024


# One row must fit in MariaDB's max_allowed_packet (16 MiB by default).
@pytest.mark.parametrize("size", [70 * 1024, MEGABYTE, 3 * MEGABYTE])
def test_large_inputs_results_and_logs_round_trip(database: Database, size: int) -> None:
    # Past MySQL's TEXT (64 KiB), with characters of 2 and 4 bytes in UTF-8.
    logs = ("line of output \u00e9\U0001f600\n" * (size // 20))[:size]
    result = '{"output": "' + "x" * size + '"}'
    with database.transaction() as session_:
        row = rows.execution(rows.PROJECT, input=result, result=result, logs=logs)
        rows.add(session_, row)

    with database.transaction() as session_:
        stored = session_.get(models.Execution, row.id)
        assert (stored.input, stored.result) == (result, result)
        assert stored.logs == logs


def test_logs_are_loaded_only_when_asked_for(database: Database) -> None:
    with database.transaction() as session_:
        row = rows.execution(rows.PROJECT, logs="x" * MEGABYTE)
        rows.add(session_, row)

    with database.transaction() as session_:
        stored = session_.get(models.Execution, row.id)
        assert "logs" not in stored.__dict__
        assert len(stored.logs) == MEGABYTE


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("gt:0001-01-01", 2), ("lt:9999-12-31T23:59:59", 2), ("gte:2024-05-01T12:02:00", 1)],
)
def test_dates_at_the_ends_of_the_range(database: Database, raw: str, expected: int) -> None:
    with database.transaction() as session_:
        rows.add(
            session_,
            rows.execution(rows.PROJECT, started_at=rows.at(1)),
            rows.execution(rows.PROJECT, started_at=rows.at(2)),
        )
        found = queries.list_rows(
            session_,
            models.Execution,
            queries.Scope(RequestContext(project_id=rows.PROJECT)),
            where=[filters.Filter.parse("started_at", raw)],
            allowed=frozenset({"started_at"}),
        )
        assert len(found) == expected


@pytest.mark.parametrize(
    "url",
    [
        # Nothing listens on port 1.
        "postgresql+psycopg2://qinling@127.0.0.1:1/qinling?connect_timeout=5",
        "mysql+pymysql://qinling@127.0.0.1:1/qinling?connect_timeout=5",
    ],
)
def test_an_unreachable_server_is_service_unavailable(url: str) -> None:
    database = Database(session.create_engine(url))
    try:
        with pytest.raises(exceptions.ServiceUnavailable), database.transaction() as session_:
            session_.execute(sa.select(1))
    finally:
        database.dispose()
