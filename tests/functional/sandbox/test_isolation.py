"""Each test is a function that tries to escape its sandbox, and fails."""

from __future__ import annotations

import concurrent.futures
import os
import socket

import pytest

from tests.functional.sandbox.conftest import execute, requires_isolation, started_driver

pytestmark = requires_isolation

TRY_READ = """
def main(path):
    try:
        with open(path, "rb") as f:
            return {"read": f.read(100).decode(errors="replace")}
    except OSError as exc:
        return {"error": type(exc).__name__}
"""

TRY_WRITE = """
def main(path, size=1):
    try:
        with open(path, "wb") as f:
            f.write(b"x" * size)
        return {"wrote": size}
    except OSError as exc:
        return {"error": type(exc).__name__, "errno": exc.errno}
"""


def _extracted_package(driver, spec) -> str:
    return driver._launcher.packages.path(spec.package_digest)


def test_cannot_read_another_functions_package(driver, function):
    secret = function({"main.py": "def main():\n    return 1\n", "secret.txt": "s3cret"})
    execute(driver, secret)
    victim_path = os.path.join(_extracted_package(driver, secret), "secret.txt")
    assert os.path.exists(victim_path)
    thief = function(TRY_READ, function_id="thief")
    assert execute(driver, thief, victim_path).output == {"error": "FileNotFoundError"}
    assert "read" not in execute(driver, thief, "/function/secret.txt").output


def test_reads_its_own_package_read_only(driver, function):
    spec = function({"main.py": TRY_READ, "data.txt": "mine"})
    assert execute(driver, spec, "/function/data.txt").output == {"read": "mine"}
    writer = function({"main.py": TRY_WRITE}, function_id="writer")
    assert execute(driver, writer, "/function/main.py").output["error"] in (
        "OSError",
        "PermissionError",
    )


@pytest.mark.parametrize("path", ["/etc/shadow", "/etc/passwd-", "/root/.bash_history"])
def test_cannot_read_host_secrets(driver, function, path):
    result = execute(driver, function(TRY_READ), path)
    assert "read" not in result.output


def test_cannot_read_the_services_state(driver, function, config):
    state_dir = config.state_dir
    os.makedirs(state_dir, exist_ok=True)
    planted = {}
    for name, text in (("qinling.conf", "password = hunter2"), ("qinling.sqlite", "SQLite")):
        planted[name] = os.path.join(state_dir, name)
        with open(planted[name], "w") as f:
            f.write(text)
    spec = function(TRY_READ)
    for path in planted.values():
        assert execute(driver, spec, path).output == {"error": "FileNotFoundError"}
    assert "read" not in execute(driver, spec, "/etc/qinling/qinling.conf").output


def test_sees_no_host_process(driver, function):
    spec = function(
        """
        import os

        def main():
            return sorted(int(p) for p in os.listdir("/proc") if p.isdigit())
        """
    )
    assert execute(driver, spec).output == [1]


def test_cannot_signal_another_worker(driver, function):
    victim = function("def main():\n    return 'alive'\n", function_id="victim")
    first = execute(driver, victim)
    [victim_worker] = driver._table.get(victim.key).workers
    killer = function(
        """
        import os, signal

        def main(pid):
            try:
                os.kill(pid, signal.SIGKILL)
                return "killed"
            except OSError as exc:
                return type(exc).__name__
        """,
        function_id="killer",
    )
    assert execute(driver, killer, victim_worker.pid).output == "ProcessLookupError"
    after = execute(driver, victim)
    assert after.output == "alive" and after.worker_name == first.worker_name


def test_cannot_reach_the_hosts_loopback(driver, function):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        spec = function(
            """
            import socket

            def main(port):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=2).close()
                    return "connected"
                except OSError as exc:
                    return type(exc).__name__
            """
        )
        assert execute(driver, spec, port).output == "ConnectionRefusedError"


def test_has_no_network_but_its_own_loopback(driver, function):
    spec = function(
        """
        import socket

        def main():
            names = [name for _, name in socket.if_nameindex()]
            with socket.socket() as server:
                server.bind(("127.0.0.1", 0))
                server.listen()
                socket.create_connection(server.getsockname(), timeout=2).close()
            try:
                socket.create_connection(("192.0.2.1", 80), timeout=2)
                outside = "reached"
            except OSError as exc:
                outside = type(exc).__name__
            return {"interfaces": names, "outside": outside}
        """
    )
    assert execute(driver, spec).output == {"interfaces": ["lo"], "outside": "OSError"}


@pytest.mark.parametrize(
    "path", ["/x", "/etc/passwd", "/usr/lib/x", "/opt/qinling/runtime/agent.py", "/dev/x"]
)
def test_cannot_write_outside_tmp(driver, function, path):
    result = execute(driver, function(TRY_WRITE), {"path": path})
    assert "error" in result.output, result.output


def test_tmp_is_writable_and_size_limited(config, function):
    from qinling.orchestrator.local import LocalOrchestrator
    from tests.functional.sandbox.conftest import PYTHON

    config.set_override("tmp_size", 1024 * 1024, "sandbox")
    driver = LocalOrchestrator(config)
    driver.start()
    try:
        driver.create_pool(PYTHON)
        spec = function(TRY_WRITE)
        small = execute(driver, spec, {"path": "/tmp/small", "size": 1000})
        big = execute(driver, spec, {"path": "/tmp/big", "size": 4 * 1024 * 1024})
    finally:
        driver.stop()
    assert small.output == {"wrote": 1000}
    assert big.output == {"error": "OSError", "errno": 28}  # ENOSPC


def test_a_function_finds_tmp_empty_and_no_module_of_the_platform(driver, function):
    """Spare workers rehearse loading a function in their /tmp before they get one."""
    spec = function(
        """
        import os
        import sys

        def main():
            return {
                "tmp": sorted(os.listdir("/tmp")),
                "modules": [m for m in sys.modules if "qinling" in m and m != "_qinling_agent"],
                "path": [p for p in sys.path if p.startswith("/tmp")],
            }
        """
    )
    assert execute(driver, spec).output == {"tmp": [], "modules": [], "path": []}


def test_runs_unprivileged_without_capabilities(driver, function):
    spec = function(
        """
        import os

        def main():
            with open("/proc/self/status") as f:
                caps = dict(line.split(":\\t") for line in f if line.startswith("Cap"))
            return {"uid": os.getuid(), "gid": os.getgid(),
                    "eff": caps["CapEff"].strip(), "bnd": caps["CapBnd"].strip()}
        """
    )
    output = execute(driver, spec).output
    assert output["uid"] >= driver.settings.uid_range_start
    assert output["eff"] == output["bnd"] == "0000000000000000"


LIST_MOUNTS = """
import os

def main():
    with open("/proc/self/mountinfo") as f:
        points = sorted(line.split()[4] for line in f)
    return {"mounts": points, "packages": os.listdir("/.packages")}
"""


def test_a_worker_sees_only_its_own_mounts_and_the_host_none_of_them(driver, function):
    result = execute(driver, function(LIST_MOUNTS)).output
    # The driver's packages are unmounted at attach; only the function's is left.
    assert result["packages"] == []
    assert "/function" in result["mounts"] and "/.packages" not in result["mounts"]
    assert {"/", "/etc", "/tmp", "/proc", "/dev", "/dev/shm", "/usr"} <= set(result["mounts"])
    # The template root lives in the zygote's own mount namespace, not the host's.
    with open("/proc/self/mountinfo") as f:
        host_points = [line.split()[4] for line in f]
    assert not [p for p in host_points if p.startswith(driver._launcher.rootfs)]


NETWORK_NAMESPACE = """
import os
import socket
import time

def main(hold=0):
    time.sleep(hold)
    with socket.socket() as server:  # its loopback is up, wherever it came from
        server.bind(("127.0.0.1", 0))
        server.listen()
        socket.create_connection(server.getsockname(), timeout=2).close()
    return os.readlink("/proc/self/ns/net")
"""


def test_a_functions_workers_share_a_network_namespace_no_other_function_sees(driver, function):
    spec = function(NETWORK_NAMESPACE, concurrency=3)
    driver.scale_up(spec, 3)  # started together, into the one namespace
    assert len(driver.list_workers(spec.function_id)) == 3
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        seen = list(pool.map(lambda _: execute(driver, spec, {"hold": 0.3}).output, range(3)))
    assert len({result for result in seen}) == 1 and seen[0].startswith("net:[")
    other = execute(driver, function(NETWORK_NAMESPACE, function_id="other")).output
    assert other != seen[0] and other != os.readlink("/proc/self/ns/net")
    # Its last worker gone, the next one makes a namespace of its own again.
    driver.delete_function(spec.function_id)
    again = execute(driver, function(NETWORK_NAMESPACE, function_id=spec.function_id)).output
    assert again.startswith("net:[") and again not in (seen[0], other)


@pytest.mark.parametrize("spares", [0, 2], ids=["made-by-the-driver", "a-spares"])
def test_workers_cold_started_together_share_one_network_namespace(config, spares, function):
    """Executions that arrive together on a function with no worker each get
    a worker started for it; all of them join one namespace (none makes its
    own on the way), and it has a loopback that works."""
    config.set_override("spare_workers", spares, "sandbox")
    with started_driver(config) as driver:
        spec = function(NETWORK_NAMESPACE, concurrency=6)
        with concurrent.futures.ThreadPoolExecutor(6) as pool:
            results = list(pool.map(lambda _: execute(driver, spec, {"hold": 0.5}), range(6)))
        assert [r.success for r in results] == [True] * 6, [r.output for r in results]
        assert len(driver.list_workers(spec.function_id)) == 6
        seen = {result.output for result in results}
        assert len(seen) == 1 and seen.pop() != os.readlink("/proc/self/ns/net")
