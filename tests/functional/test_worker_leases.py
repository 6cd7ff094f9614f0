"""Workers lent to an API process (``[api] worker_leases``).

qinling-api beside qinling-engine on one host, over the engine's data
socket: after running a sync execution, the engine lends its worker to the
API process, which runs the next executions of that function version on
it directly. Checked as a user sees it (results, limits, cancels, updates)
and as an operator would look at it: the descriptors the API process
holds (a pidfd for each worker it borrowed) and the engine's log.
"""

from __future__ import annotations

import concurrent.futures
import json
import os
import re
import signal
import subprocess

import pytest
import requests

from tests import processes
from tests.functional import server as qserver

TIMEOUT = 60
QUICK = (
    "import time\n"
    "def main(seconds=0, hog=False, **kwargs):\n"
    "    if hog:\n"
    "        blocks = []\n"
    "        while True:\n"
    "            blocks.append(bytearray(8 * 1024 * 1024))\n"
    "    time.sleep(seconds)\n"
    "    return 'v1'\n"
)


class Deployment:
    def __init__(self, tmp_path, db_url: str, transport_url: str) -> None:
        self.port = processes.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.tmp_path = tmp_path
        self.config = processes.write_config(
            str(tmp_path / "qinling.conf"),
            {
                "DEFAULT": {"state_dir": tmp_path, "transport_url": transport_url},
                "api": {"host": "127.0.0.1", "port": self.port},
                "database": {"connection": db_url},
                "engine": {
                    "orchestrator": "local",
                    "host": "engine-1",
                    "data_socket": str(tmp_path / "engine.sock"),
                },
            },
        )
        subprocess.run(
            [os.path.join(processes.BIN, "qinling-db-manage"), "--config-file", self.config]
            + ["upgrade"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.api_starts = self.engine_starts = 0  # numbers their logs
        self.engine = self.start_engine()
        self.api = self.start_api()

    def start_engine(self) -> processes.Service:
        """A qinling-engine, once it serves its data socket."""
        self.engine_starts += 1
        log = str(self.tmp_path / f"engine-{self.engine_starts}.log")
        engine = processes.Service("qinling-engine", self.config, log)
        processes.wait_for(
            lambda: "Engine data socket listening" in engine.log(),
            what="the engine's data socket",
            details=engine.log,
        )
        return engine

    def start_api(self) -> processes.Service:
        self.api_starts += 1
        log = str(self.tmp_path / f"api-{self.api_starts}.log")
        api = processes.Service("qinling-api", self.config, log)
        api.wait_http(self.base + "/")
        return api

    def details(self) -> str:
        return f"\nAPI log:\n{self.api.log()[-6000:]}\nEngine log:\n{self.engine.log()[-6000:]}"

    def check(self, response: requests.Response, status: int) -> dict:
        return processes.checked(response, status, self.details())

    def runtime(self) -> str:
        created = self.check(
            requests.post(f"{self.base}/v1/runtimes", json={"image": "python3"}, timeout=TIMEOUT),
            201,
        )
        processes.wait_for(
            lambda: self.get(f"/v1/runtimes/{created['id']}")["status"] == "available",
            what="the runtime to become available",
            details=self.details,
        )
        return created["id"]

    def function(self, runtime_id: str, source: str = QUICK, **fields) -> str:
        response = requests.post(
            f"{self.base}/v1/functions",
            data={"runtime_id": runtime_id, "code": json.dumps({"source": "package"})} | fields,
            files={"package": ("f.zip", qserver.zip_source({"main.py": source}))},
            timeout=TIMEOUT,
        )
        return self.check(response, 201)["id"]

    def execute(self, function_id: str, **body) -> dict:
        response = requests.post(
            f"{self.base}/v1/executions",
            json={"function_id": function_id, **body},
            timeout=TIMEOUT,
        )
        return self.check(response, 201)

    def get(self, path: str) -> dict:
        return self.check(requests.get(f"{self.base}{path}", timeout=TIMEOUT), 200)

    def workers(self, function_id: str) -> list[dict]:
        return self.get(f"/v1/functions/{function_id}/workers")["workers"]

    def borrowed(self) -> int:
        """Workers the API process holds: a pidfd each, as ``ls -l /proc/PID/fd`` shows."""
        fd_dir = f"/proc/{self.api.process.pid}/fd"
        count = 0
        for name in os.listdir(fd_dir):
            try:
                count += os.readlink(os.path.join(fd_dir, name)) == "anon_inode:[pidfd]"
            except OSError:
                pass
        return count

    def running(self, execution_id: str) -> bool:
        got = requests.get(f"{self.base}/v1/executions/{execution_id}", timeout=TIMEOUT)
        return got.status_code == 200 and got.json()["status"] == "running"

    def stop(self) -> None:
        self.api.stop()
        self.engine.stop()


@pytest.fixture(scope="module")
def deployment(tmp_path_factory, session_databases):
    db_url = session_databases.new_url("postgresql")
    tmp_path = tmp_path_factory.mktemp("leases")
    with processes.rabbitmq_vhost() as transport_url:
        running = Deployment(tmp_path, db_url, transport_url)
        try:
            yield running
        finally:
            running.stop()
    session_databases.drop(db_url)


@pytest.fixture(scope="module")
def python(deployment) -> str:
    return deployment.runtime()


def _borrowing(deployment: Deployment, python: str, **fields) -> str:
    """A new function, run once: the API process has borrowed its worker."""
    function_id = deployment.function(python, **fields)
    assert deployment.execute(function_id)["status"] == "success"
    assert deployment.borrowed() >= 1
    return function_id


def output(row: dict):
    return json.loads(row["result"])["output"]


def test_warm_executions_run_on_a_borrowed_worker_given_back_once_idle(deployment, python):
    function_id = deployment.function(python)
    rows = [deployment.execute(function_id) for _ in range(5)]

    assert [row["status"] for row in rows] == ["success"] * 5, deployment.details()
    assert [output(row) for row in rows] == ["v1"] * 5
    assert rows[0]["cold_start"] is True and not any(row["cold_start"] for row in rows[1:])
    assert all(row["memory_peak"] for row in rows[1:]), rows
    assert deployment.borrowed() == 1
    assert len(deployment.workers(function_id)) == 1
    # Unused for a second, it goes back to the engine, which keeps it warm.
    processes.wait_for(lambda: deployment.borrowed() == 0, what="the worker to be given back")
    assert len(deployment.workers(function_id)) == 1
    assert deployment.execute(function_id)["cold_start"] is False


def test_a_borrowed_worker_that_timed_out_is_replaced(deployment, python):
    function_id = _borrowing(deployment, python, timeout="1")

    timed_out = deployment.execute(function_id, input={"seconds": 5})

    assert timed_out["status"] == "failed", timed_out
    assert output(timed_out) == "Function execution timeout."
    again = deployment.execute(function_id)
    assert again["status"] == "success" and again["cold_start"] is True, again


def test_a_borrowed_worker_over_its_memory_limit_is_named_so(deployment, python):
    function_id = deployment.function(python, memory_size=str(64 * 1024 * 1024))
    assert deployment.execute(function_id)["status"] == "success"

    hog = deployment.execute(function_id, input={"hog": True})

    assert hog["status"] == "failed", hog
    assert output(hog) == "Function exceeded its memory limit of 64 MiB and was killed."
    assert deployment.execute(function_id)["status"] == "success"


def test_new_code_runs_at_once_though_the_old_worker_is_borrowed(deployment, python):
    function_id = deployment.function(python)
    assert output(deployment.execute(function_id)) == "v1"
    assert deployment.borrowed() >= 1

    response = requests.put(
        f"{deployment.base}/v1/functions/{function_id}",
        data={"code": json.dumps({"source": "package"})},
        files={"package": ("f.zip", qserver.zip_source({"main.py": QUICK.replace("v1", "v2")}))},
        timeout=TIMEOUT,
    )
    deployment.check(response, 200)

    assert output(deployment.execute(function_id)) == "v2"


def test_cancel_stops_a_run_on_a_borrowed_worker(deployment, python):
    function_id = _borrowing(deployment, python, timeout="60")

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        long_run = pool.submit(deployment.execute, function_id, input={"seconds": 50})
        listed = _listed_running(deployment, function_id)
        cancelled = requests.delete(
            f"{deployment.base}/v1/executions/{listed['id']}", timeout=TIMEOUT
        )
        deployment.check(cancelled, 200)
        ended = long_run.result(timeout=20)  # not the 50 s it would have slept

    assert ended["status"] == "cancelled", ended
    assert deployment.execute(function_id)["status"] == "success"


def test_an_execution_waiting_for_a_borrowed_worker_gets_it_recalled(deployment, python):
    function_id = _borrowing(deployment, python, concurrency="1")

    # An async execution runs in the engine, which must have the only worker back.
    accepted = deployment.execute(function_id, sync=False)
    final = _ended(deployment, accepted["id"])

    assert final["status"] == "success", final
    assert f"function {function_id} version 0" in deployment.engine.log()
    assert len(deployment.workers(function_id)) == 1


def test_a_long_run_of_a_killed_api_process_ends_in_error(deployment, python):
    function_id = _borrowing(deployment, python, timeout="60")

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(deployment.execute, function_id, input={"seconds": 50})
        listed = _listed_running(deployment, function_id)
        os.kill(deployment.api.process.pid, signal.SIGKILL)
        deployment.api.process.wait(timeout=10)
    deployment.api = deployment.start_api()

    ended = _ended(deployment, listed["id"])
    assert ended["status"] == "error", ended
    assert "API process running this execution stopped" in output(ended)
    assert deployment.execute(function_id)["status"] == "success"


def test_a_stopping_engine_lets_a_run_on_a_borrowed_worker_finish(deployment, python):
    function_id = _borrowing(deployment, python, timeout="60")

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        run = pool.submit(deployment.execute, function_id, input={"seconds": 3})
        _listed_running(deployment, function_id)
        deployment.engine.process.send_signal(signal.SIGTERM)
        ended = run.result(timeout=30)
        deployment.engine.process.wait(timeout=30)
    stopped_log = deployment.engine.log()
    deployment.engine = deployment.start_engine()

    assert ended["status"] == "success", ended
    assert output(ended) == "v1"
    assert re.search(r"Recalled \d+ workers lent to API processes \(all functions\)", stopped_log)


def _ended(deployment: Deployment, execution_id: str) -> dict:
    def final():
        row = deployment.get(f"/v1/executions/{execution_id}")
        return row if row["status"] != "running" else None

    return processes.wait_for(
        final, what=f"execution {execution_id} to end", details=deployment.details
    )


def _listed_running(deployment: Deployment, function_id: str) -> dict:
    """The function's execution once it is listed as running (a run that lasts)."""

    def found():
        listed = deployment.get(f"/v1/executions?function_id={function_id}")["executions"]
        return next((row for row in listed if row["status"] == "running"), None)

    return processes.wait_for(
        found, what="the long run to be listed as running", details=deployment.details
    )


def test_scale_down_takes_back_a_borrowed_worker_first(deployment, python):
    function_id = _borrowing(deployment, python)
    assert len(deployment.workers(function_id)) == 1

    response = requests.post(
        f"{deployment.base}/v1/functions/{function_id}/scale_down",
        json={"count": 1},
        timeout=TIMEOUT,
    )
    deployment.check(response, 202)

    assert deployment.workers(function_id) == []
