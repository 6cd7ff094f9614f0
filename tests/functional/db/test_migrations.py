"""The SQLite suite of tests/unit/db/test_migrations.py, on every backend."""

from tests.unit.db.test_migrations import *  # noqa: F403
