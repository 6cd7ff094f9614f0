"""The SQLite suite of tests/unit/db/test_queries.py, on every backend."""

import pytest

from tests.unit.db.test_queries import *  # noqa: F403

pytestmark = pytest.mark.functional
