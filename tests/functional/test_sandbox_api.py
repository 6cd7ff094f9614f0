"""Functions in real sandboxes, driven through the API of a running qinling-server.

The driver's own suite (tests/functional/sandbox) covers each mechanism in
depth; these check that the running service wires them through: limits,
concurrency, warm reuse, reaping, scaling and isolation as a user sees them.
"""

from __future__ import annotations

import concurrent.futures
import json
import os

import pytest
import requests

from tests import processes
from tests.functional import server as qserver

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # Sandboxing is what is under test: always the local driver.
    running = qserver.start(
        str(tmp_path_factory.mktemp("sandbox-api")),
        # One API process: with more, each may be lent a warm worker of its own
        # (orchestrator.local.leases), so which execution reuses which worker
        # depends on the process the kernel hands each connection to; the
        # lending is tested in test_worker_leases.py.
        api__processes=1,
        engine__orchestrator="local",
        engine__function_service_expiration=2,
        engine__periodic_interval=1,
    )
    yield running
    running.service.stop()


@pytest.fixture(scope="module")
def python(server) -> str:
    return server.runtime("python3")


def output(execution: dict):
    return json.loads(execution["result"])["output"]


def run(server, function_id: str, **body) -> dict:
    return server.execute(function_id=function_id, **body)


def workers(server, function_id: str) -> list[dict]:
    response = requests.get(server.url(f"/v1/functions/{function_id}/workers"))
    return server.check(response, 200)["workers"]


def test_input_exceptions_and_logs(server, python):
    function_id = server.function(
        python,
        (
            "import sys\n"
            "def main(name='world', context=None, **kwargs):\n"
            "    print('to stdout', name)\n"
            "    print('to stderr', file=sys.stderr)\n"
            "    if name == 'boom':\n"
            "        raise ValueError('no boom here')\n"
            "    return {'hello': name, 'execution': context['execution_id']}\n"
        ),
    )

    kwargs = run(server, function_id, input='{"name": "kw"}')
    positional = run(server, function_id, input="plain")
    failed = run(server, function_id, input='{"name": "boom"}')

    assert output(kwargs) == {"hello": "kw", "execution": kwargs["id"]}
    assert output(positional)["hello"] == "plain"
    assert failed["status"] == "failed"
    assert "ValueError" in output(failed) and "no boom here" in output(failed)
    log = requests.get(server.url(f"/v1/executions/{kwargs['id']}/log")).text
    assert "to stdout kw" in log and "to stderr" in log


def test_nodejs_function(server):
    nodejs = server.runtime("nodejs")
    function_id = server.function(
        nodejs,
        "exports.main = (input) => ({ greeting: `hi ${input.name}` });\n",
        entry="main.main",
        module="main.js",
        memory_size=128 * MIB,
    )

    result = run(server, function_id, input='{"name": "node"}')

    assert result["status"] == "success", result
    assert output(result) == {"greeting": "hi node"}


def test_timeout_memory_and_pids_limits(server, python):
    sleeper = server.function(
        python, "import time\ndef main(**k):\n    time.sleep(30)\n", timeout=1
    )
    hog = server.function(
        python, "def main(**k):\n    return len(bytearray(256 * 2**20))\n", memory_size=64 * MIB
    )
    bomb = server.function(
        python,
        (
            "import os, time\n"
            "def main(**k):\n"
            "    children = 0\n"
            "    try:\n"
            "        while True:\n"
            "            if os.fork() == 0:\n"
            "                time.sleep(30)\n"
            "                os._exit(0)\n"
            "            children += 1\n"
            "    except OSError as err:\n"
            "        return {'children': children, 'error': err.strerror}\n"
        ),
        timeout=60,
        memory_size=256 * MIB,
    )

    timed_out = run(server, sleeper)
    killed = run(server, hog)
    forked = run(server, bomb)

    assert (timed_out["status"], output(timed_out)) == ("failed", "Function execution timeout.")
    assert killed["status"] == "failed"
    assert "memory limit of 64 MiB" in output(killed)
    assert forked["status"] == "success", output(forked)
    assert output(forked)["error"] == "Resource temporarily unavailable"
    assert output(forked)["children"] < 1000


def test_parallel_executions_get_their_own_workers_then_reuse_them(server, python):
    function_id = server.function(
        python, "import time\ndef main(**k):\n    time.sleep(0.5)\n    return 1\n"
    )

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        first = list(pool.map(lambda _: run(server, function_id), range(4)))
    again = run(server, function_id)

    assert [e["status"] for e in first] == ["success"] * 4
    assert sum(bool(e["cold_start"]) for e in first) == 4
    assert len(workers(server, function_id)) == 4
    assert again["cold_start"] is False


def test_idle_workers_are_reaped(server, python):
    function_id = server.function(python, "def main(**k):\n    return 1\n")
    run(server, function_id)
    assert len(workers(server, function_id)) == 1

    processes.wait_for(
        lambda: workers(server, function_id) == [],
        deadline=30,
        what="the idle worker to be reaped",
        details=server.details,
    )
    assert run(server, function_id)["cold_start"] is True


def test_scale_up_down_and_detach(server, python):
    function_id = server.function(python, "def main(**k):\n    return 1\n")
    url = server.url(f"/v1/functions/{function_id}")

    server.check(requests.post(url + "/scale_up", json={"count": 3}), 202)
    assert len(workers(server, function_id)) == 3
    server.check(requests.post(url + "/scale_down", json={"count": 2}), 202)
    assert len(workers(server, function_id)) == 1
    assert run(server, function_id)["cold_start"] is False
    server.check(requests.post(url + "/detach"), 202)
    processes.wait_for(
        lambda: workers(server, function_id) == [],
        what="detach to stop the workers",
        details=server.details,
    )


def test_a_function_cannot_read_the_service_or_other_functions(server, python):
    secret_id = server.function(
        python,
        "SECRET = 'do-not-leak'\ndef main(**k):\n    return 1\n",
        module="secret.py",
        entry="secret.main",
    )
    run(server, secret_id)
    state_dir = os.path.dirname(server.service.log_path)
    snoop = server.function(
        python,
        (
            "import os\n"
            "def main(paths, **k):\n"
            "    seen = {}\n"
            "    for path in paths:\n"
            "        try:\n"
            "            with open(path, 'rb') as f:\n"
            "                seen[path] = f.read(64).decode('latin-1')\n"
            "        except OSError as err:\n"
            "            seen[path] = type(err).__name__\n"
            "    seen['pids'] = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
            "    return seen\n"
        ),
    )
    paths = [
        os.path.join(state_dir, "qinling.conf"),
        os.path.join(state_dir, "qinling.sqlite"),
        "/etc/shadow",
        server.service.log_path,
        "/function/secret.py",
    ]

    seen = output(run(server, snoop, input=json.dumps({"paths": paths})))

    for path in paths:
        assert seen[path] in ("FileNotFoundError", "PermissionError"), (path, seen[path])
    assert max(seen["pids"]) < 100, "the function sees only its own PID namespace"
