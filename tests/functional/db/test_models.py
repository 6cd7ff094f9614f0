"""The SQLite suite of tests/unit/db/test_models.py, on every backend."""

from tests.unit.db.test_models import *  # noqa: F403
