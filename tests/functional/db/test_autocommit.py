"""The SQLite suite of tests/unit/db/test_autocommit.py on every backend, and
what PostgreSQL does differently: no transaction around each statement."""

import pytest

from qinling.db.session import Database
from tests.unit.db.test_autocommit import *  # noqa: F403

pytestmark = pytest.mark.functional

# In a transaction of several statements, the later ones start after it did.
ALONE = "SELECT statement_timestamp() = transaction_timestamp()"


@pytest.mark.db_backends("postgresql")
def test_on_postgresql_each_read_statement_is_its_own_transaction(database: Database) -> None:
    with database.reading() as conn:
        conn.exec_driver_sql("SELECT 1")
        assert conn.exec_driver_sql(ALONE).scalar_one() is True


@pytest.mark.db_backends("postgresql")
def test_on_postgresql_a_connection_block_is_one_transaction(database: Database) -> None:
    with database.connection() as conn:
        conn.exec_driver_sql("SELECT 1")
        assert conn.exec_driver_sql(ALONE).scalar_one() is False
