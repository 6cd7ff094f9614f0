"""Local runtime definitions and how images resolve to them."""

from __future__ import annotations

import json
import os

import pytest

from qinling import exceptions
from qinling.orchestrator.local import runtimes


@pytest.fixture
def shipped():
    return runtimes.load_definitions(runtimes.default_runtimes_dir())


def test_python3_and_nodejs_are_shipped(shipped):
    assert {"python3", "nodejs"} <= set(shipped)
    python = shipped["python3"]
    assert python.kind == "python" and os.path.isfile(python.agent_path)
    assert "json" in python.preload
    node = shipped["nodejs"]
    assert node.kind == "exec" and node.min_memory == 64 * 1024 * 1024


@pytest.mark.parametrize(
    ("image", "name"),
    [
        ("python3", "python3"),
        ("openstackqinling/python3-runtime", "python3"),
        ("openstackqinling/python3-runtime:latest", "python3"),
        ("nodejs", "nodejs"),
        ("openstackqinling/nodejs-runtime", "nodejs"),
    ],
)
def test_images_resolve_by_name_alias_and_tag(shipped, image, name):
    assert runtimes.resolve(image, shipped).name == name


def test_unknown_image_names_the_known_ones(shipped):
    with pytest.raises(exceptions.OrchestratorError, match=r"'ruby'.*nodejs, python3"):
        runtimes.resolve("ruby", shipped)


def test_node_command_sizes_the_heap_from_memory(shipped):
    command = shipped["nodejs"].command(128 * 1024 * 1024)
    assert "--max-old-space-size=96" in command
    assert command[-1] == "/opt/qinling/runtime/agent.js"


def test_broken_definitions_are_reported(tmp_path):
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "runtime.json").write_text(json.dumps({"name": "bad", "kind": "cobol"}))
    with pytest.raises(exceptions.OrchestratorError, match="Broken runtime definition"):
        runtimes.load_definitions(str(tmp_path))


def test_missing_directory_is_reported(tmp_path):
    with pytest.raises(exceptions.OrchestratorError, match="Cannot read the runtime"):
        runtimes.load_definitions(str(tmp_path / "nowhere"))
