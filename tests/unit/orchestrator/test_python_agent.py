"""The Python runtime agent's rehearsal, which a spare worker runs before it has a function."""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType

import pytest

AGENT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "runtimes", "python3", "agent.py")


@pytest.fixture
def agent(monkeypatch) -> ModuleType:
    """The agent loaded as the zygote loads it, under a name of its own."""
    monkeypatch.setattr(sys, "dont_write_bytecode", sys.dont_write_bytecode)
    monkeypatch.setattr(sys, "path", list(sys.path))
    spec = importlib.util.spec_from_file_location("_qinling_agent_under_test", AGENT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_rehearsal_leaves_nothing_behind(agent, tmp_path) -> None:
    """It loads and calls a function of its own; the worker's real function
    must find no trace of it. Its cached signature above all: keyed by the
    function's id, which a later function may get, it would pass ``context``
    to a ``main()`` that takes none."""
    path = list(sys.path)
    agent.rehearse(str(tmp_path))

    assert os.listdir(tmp_path) == []
    assert agent._signatures == {}
    assert "_qinling_rehearsal" not in sys.modules
    assert sys.path == path


def test_a_function_after_the_rehearsal_gets_its_own_arguments(agent, tmp_path) -> None:
    agent.rehearse(str(tmp_path))
    package = tmp_path / "package"
    package.mkdir()
    (package / "main.py").write_text("def main():\n    return 'no arguments'\n")
    try:
        function, error = agent._load("main.main", str(package))
        request = {"input": None, "context": {"x": 1}}
        reply = agent._execute(function, request, 1 << 20, agent._NoLogs())
    finally:
        sys.modules.pop("main", None)

    assert error is None
    assert reply["success"] and reply["output"] == "no arguments"
