"""qinling-api and qinling-engine as separate processes over RabbitMQ.

They share a PostgreSQL database and a package directory, and talk only
through a RabbitMQ vhost of the test's own; a function runs through them
synchronously and asynchronously, as a user would drive it over HTTP.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import zipfile

import pytest
import requests

from tests import processes

FUNCTION = 'def main(name="world", **kwargs):\n    print("log line")\n    return "hi " + name\n'


def _package() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.py", FUNCTION)
    return buffer.getvalue()


@pytest.fixture(params=["run_queue", "rpc", "data_socket"])
def split_services(request, tmp_path, session_databases):
    """``run_queue`` (the default): sync executions over the engines' run
    queue on RabbitMQ, the rest over RPC; ``rpc``: everything over RPC
    (``[engine] run_queue = false``); ``data_socket``: engine and API on one
    host, sync executions over the engine's Unix socket (``[engine]
    data_socket``), the rest over RabbitMQ."""
    db_url = session_databases.new_url("postgresql")
    port = processes.free_port()
    data_socket = str(tmp_path / "engine.sock") if request.param == "data_socket" else ""
    with processes.rabbitmq_vhost() as transport_url:
        config = processes.write_config(
            str(tmp_path / "qinling.conf"),
            {
                "DEFAULT": {"state_dir": tmp_path, "transport_url": transport_url},
                "api": {"host": "127.0.0.1", "port": port},
                "database": {"connection": db_url},
                "engine": {
                    "orchestrator": os.environ.get("QINLING_TEST_ORCHESTRATOR", "local"),
                    "host": "engine-1",
                    "data_socket": data_socket,
                    "run_queue": request.param != "rpc",
                },
            },
        )
        subprocess.run(
            [os.path.join(processes.BIN, "qinling-db-manage"), "--config-file", config, "upgrade"],
            check=True,
            capture_output=True,
            timeout=120,
        )
        engine = processes.Service("qinling-engine", config, str(tmp_path / "engine.log"))
        api = processes.Service("qinling-api", config, str(tmp_path / "api.log"))
        try:
            base = f"http://127.0.0.1:{port}"
            api.wait_http(base + "/")
            yield base, api, engine, transport_url
        finally:
            api.stop()
            engine.stop()
    session_databases.drop(db_url)


def test_a_function_runs_through_api_and_engine_processes(split_services):
    base, api, engine, _ = split_services
    logs = lambda: f"\nAPI log:\n{api.log()}\nEngine log:\n{engine.log()}"  # noqa: E731

    runtime = requests.post(f"{base}/v1/runtimes", json={"image": "python3", "name": "py"})
    assert runtime.status_code == 201, runtime.text + logs()
    runtime_id = runtime.json()["id"]
    processes.wait_for(
        lambda: requests.get(f"{base}/v1/runtimes/{runtime_id}").json()["status"] == "available",
        what="the runtime to become available",
        details=logs,
    )

    package = _package()
    function = requests.post(
        f"{base}/v1/functions",
        data={
            "runtime_id": runtime_id,
            "entry": "hello.main",
            "name": "hello",
            "code": json.dumps({"source": "package"}),
        },
        files={"package": ("hello.zip", package)},
    )
    assert function.status_code == 201, function.text + logs()
    function_id = function.json()["id"]

    sync = requests.post(
        f"{base}/v1/executions", json={"function_id": function_id, "input": '{"name": "split"}'}
    )
    assert sync.status_code == 201, sync.text + logs()
    assert sync.json()["status"] == "success", sync.text + logs()
    assert json.loads(sync.json()["result"])["output"] == "hi split"

    accepted = requests.post(
        f"{base}/v1/executions", json={"function_id": function_id, "sync": False, "input": "async"}
    )
    assert accepted.status_code == 201, accepted.text + logs()
    execution_id = accepted.json()["id"]
    final = processes.wait_for(
        lambda: (lambda e: e if e["status"] != "running" else None)(
            requests.get(f"{base}/v1/executions/{execution_id}").json()
        ),
        what="the async execution to end",
        details=logs,
    )
    assert final["status"] == "success", json.dumps(final) + logs()
    assert json.loads(final["result"])["output"] == "hi async"
    log = requests.get(f"{base}/v1/executions/{execution_id}/log")
    assert "log line" in log.text

    workers = requests.get(f"{base}/v1/functions/{function_id}/workers")
    assert workers.status_code == 200, workers.text + logs()
    assert workers.json()["workers"], "the engine reports the warm worker" + logs()


def test_engines_consume_the_run_queue_only_where_it_is_on(split_services, request):
    *_, transport_url = split_services
    vhost = transport_url.rsplit("/", 1)[1]

    def run_queue_consumers() -> int:
        listed = subprocess.run(
            ["rabbitmqctl", "list_queues", "-q", "-p", vhost, "name", "consumers"],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        counts = dict(line.split() for line in listed.splitlines() if line.strip())
        return int(counts.get("qinling_engine.runs", 0))

    if request.node.callspec.params["split_services"] == "rpc":
        assert run_queue_consumers() == 0
    else:
        processes.wait_for(lambda: run_queue_consumers() >= 2, what="the engine's consumers")
