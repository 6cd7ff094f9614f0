"""The SQLite suite of tests/unit/db/test_models.py, on every backend."""

import pytest

from tests.unit.db.test_models import *  # noqa: F403

pytestmark = pytest.mark.functional
