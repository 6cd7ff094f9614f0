"""The SQLite suite of tests/unit/db/test_pagination.py, on every backend."""

from tests.unit.db.test_pagination import *  # noqa: F403
