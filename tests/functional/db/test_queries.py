"""The SQLite suite of tests/unit/db/test_queries.py, on every backend."""

from tests.unit.db.test_queries import *  # noqa: F403
