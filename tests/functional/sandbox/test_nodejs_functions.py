"""Node.js functions in real sandboxes."""

from __future__ import annotations

import shutil

import pytest

from tests.functional.sandbox.conftest import (
    NODEJS,
    execute,
    only_worker_exits_with_its_channel,
    requires_isolation,
)

pytestmark = [requires_isolation, pytest.mark.usefixtures("node_installed")]


@pytest.fixture(scope="module")
def node_installed() -> None:
    if shutil.which("node") is None:
        pytest.fail("Node.js is not installed: apt-get install nodejs", pytrace=False)


MEMORY = 128 * 1024 * 1024


@pytest.fixture
def node_function(driver, function):
    driver.create_pool(NODEJS)

    def build(source: str, **fields):
        fields.setdefault("memory_size", MEMORY)
        return function({"main.js": source}, runtime=NODEJS, **fields)

    return build


def test_input_and_context_reach_the_function(driver, node_function):
    spec = node_function(
        """
        exports.main = (input, context) => ({ input, context, uid: process.getuid() });
        """
    )
    result = execute(driver, spec, {"name": "qinling"}, project_id="p1")
    assert result.success, result
    assert result.output["input"] == {"name": "qinling"}
    assert result.output["context"] == {"project_id": "p1"}
    assert result.output["uid"] >= driver.settings.uid_range_start
    assert result.cold_start


def test_async_functions_logs_and_warm_reuse(driver, node_function):
    spec = node_function(
        """
        let calls = 0;
        exports.main = async () => {
          calls += 1;
          console.log(`call ${calls}`);
          await new Promise((resolve) => setTimeout(resolve, 10));
          return calls;
        };
        """
    )
    first, second = execute(driver, spec), execute(driver, spec)
    assert (first.output, second.output) == (1, 2)
    assert first.logs == "call 1\n" and second.logs == "call 2\n"
    assert not second.cold_start and second.worker_name == first.worker_name


def test_errors_fail_with_name_and_message(driver, node_function):
    spec = node_function("exports.main = () => { throw new RangeError('too far'); };")
    result = execute(driver, spec)
    assert not result.success
    assert result.output == "RangeError: too far"
    assert "at exports.main" in result.logs


def test_entry_names_file_and_export(driver, function):
    driver.create_pool(NODEJS)
    spec = function(
        {"lib/handler.js": "exports.handle = (x) => x * 2;"},
        runtime=NODEJS,
        entry="lib/handler.handle",
        memory_size=MEMORY,
    )
    assert execute(driver, spec, 21).output == 42


def test_timeout(driver, node_function):
    spec = node_function("exports.main = () => { for (;;) {} };", timeout=1)
    result = execute(driver, spec)
    assert result.output == "Function execution timeout."
    assert driver.list_workers("function-1") == []


def test_isolated_like_python_workers(driver, node_function):
    spec = node_function(
        """
        const fs = require('fs');
        exports.main = () => {
          const pids = fs.readdirSync('/proc').filter((p) => /^[0-9]+$/.test(p));
          let shadow;
          try { fs.readFileSync('/etc/shadow'); shadow = 'read'; } catch (e) { shadow = e.code; }
          return { pids, shadow };
        };
        """
    )
    assert execute(driver, spec).output == {"pids": ["1"], "shadow": "ENOENT"}


def test_too_little_memory_for_node_is_refused_clearly(driver, node_function):
    spec = node_function("exports.main = () => 1;", memory_size=32 * 1024 * 1024)
    result = execute(driver, spec)
    assert not result.success
    assert "needs at least 64 MiB" in result.output


def test_a_worker_ends_with_its_channel(driver, node_function):
    assert execute(driver, node_function("exports.main = () => 1;\n")).output == 1
    assert only_worker_exits_with_its_channel(driver)
