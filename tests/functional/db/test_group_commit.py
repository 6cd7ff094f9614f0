"""The SQLite suite of tests/unit/db/test_group_commit.py, on every backend."""

import pytest

from tests.unit.db.test_group_commit import *  # noqa: F403

pytestmark = pytest.mark.functional
