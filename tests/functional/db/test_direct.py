"""The SQLite suite of tests/unit/db/test_direct.py, on every backend."""

import pytest

from tests.unit.db.test_direct import *  # noqa: F403

pytestmark = pytest.mark.functional
