"""The fake driver runs functions side by side, each with its own logs."""

from __future__ import annotations

import threading

from qinling.orchestrator import base
from qinling.orchestrator.fake import FakeOrchestrator
from tests.unit.engine.support import package

ECHO = (
    "import sys, time\n\n"
    "def main(name, seconds=0, **kw):\n"
    "    print('out', name)\n"
    "    time.sleep(seconds)\n"
    "    print('err', name, file=sys.stderr)\n"
    "    return name\n"
)
RUNTIME = base.RuntimeSpec(id="python", image="python3")


def _spec(tmp_path, function_id: str) -> base.FunctionSpec:
    path = tmp_path / f"{function_id}.zip"
    path.write_bytes(package(ECHO))
    return base.FunctionSpec(
        function_id=function_id,
        version=0,
        runtime=RUNTIME,
        package_path=str(path),
        package_digest=function_id,
        timeout=30,
    )


def test_a_short_run_ends_while_a_long_one_runs_and_logs_stay_apart(tmp_path, capsys):
    driver = FakeOrchestrator()
    driver.create_pool(RUNTIME)
    results: dict[str, base.ExecutionResult] = {}

    def run(function_id: str, seconds: float) -> None:
        request = base.ExecutionRequest(function_id, {"name": function_id, "seconds": seconds})
        results[function_id] = driver.run_execution(_spec(tmp_path, function_id), request)

    try:
        slow = threading.Thread(target=run, args=("slow", 2))
        slow.start()
        run("quick", 0)
        assert slow.is_alive(), "the quick run waited for the slow one"
        slow.join(10)
    finally:
        driver.stop()

    assert results["quick"].output == "quick" and results["slow"].output == "slow"
    assert results["quick"].logs == "out quick\nerr quick\n"
    assert results["slow"].logs == "out slow\nerr slow\n"
    print("the test's own output")
    assert capsys.readouterr().out == "the test's own output\n"
