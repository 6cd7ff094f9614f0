"""The SQLite suite of tests/unit/db/test_filters.py, on every backend."""

from tests.unit.db.test_filters import *  # noqa: F403
