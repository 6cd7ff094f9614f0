"""Fixtures of the engine's tests."""

from __future__ import annotations

import pytest

from qinling import conf as qconf
from qinling.engine.manager import EngineManager
from qinling.storage.local import LocalStore
from tests.unit.engine.support import CountingOrchestrator


@pytest.fixture
def manager(database, tmp_path):
    """(EngineManager, its CountingOrchestrator, its LocalStore) on the fake driver."""
    conf = qconf.new_config([])
    conf.set_override("state_dir", str(tmp_path))
    orchestrator = CountingOrchestrator()
    store = LocalStore(conf)
    yield EngineManager(conf, database, orchestrator, store), orchestrator, store
    orchestrator.stop()
