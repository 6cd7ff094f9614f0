"""The SQLite suite of tests/unit/db/test_pagination.py, on every backend."""

import pytest

from tests.unit.db.test_pagination import *  # noqa: F403

pytestmark = pytest.mark.functional
