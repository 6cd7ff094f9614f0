"""The SQLite suite of tests/unit/db/test_migrations.py, on every backend."""

import pytest

from tests.unit.db.test_migrations import *  # noqa: F403

pytestmark = pytest.mark.functional
