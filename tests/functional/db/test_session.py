"""The SQLite suite of tests/unit/db/test_session.py, on every backend."""

from tests.unit.db.test_session import *  # noqa: F403
