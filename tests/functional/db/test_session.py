"""The SQLite suite of tests/unit/db/test_session.py, on every backend."""

import pytest

from tests.unit.db.test_session import *  # noqa: F403

pytestmark = pytest.mark.functional
