"""The SQLite suite of tests/unit/db/test_filters.py, on every backend."""

import pytest

from tests.unit.db.test_filters import *  # noqa: F403

pytestmark = pytest.mark.functional
