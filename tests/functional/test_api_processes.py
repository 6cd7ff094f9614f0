"""``qinling-server`` with ``[api] processes = 3``: two more API processes
share the port and reach the engine over ``<state_dir>/engine.sock``.

Driven as a user would, over HTTP, every request on a connection of its own
so that the kernel spreads them over the three processes; and checked as an
operator would, with ``ps``: how many API processes there are, that a killed
one comes back, and that none outlives the server, however it ends.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import itertools
import json
import math
import os
import random
import re
import shutil
import signal
import struct
import tempfile
import time

import pytest
import requests

from qinling import connection_share
from qinling.orchestrator.local import cgroups
from tests import processes
from tests.functional import server as qserver

API_PROCESS = "qinling.cmd.api_process"
TIMEOUT = 60  # of each HTTP request: a hang fails the test instead of the run

DOUBLE = "def main(n=0, **kwargs):\n    print('doubling', n)\n    return n * 2\n"
SLEEPER = "import time\ndef main(seconds=30, **kwargs):\n    time.sleep(seconds)\n"

_uid_ranges = itertools.count()


@dataclasses.dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    uid: int
    cmdline: str
    stderr: str  # where its fd 2 points


def live_processes() -> list[Proc]:
    """Every process of the host but zombies (their command line is empty)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
            with open(f"/proc/{name}/status") as f:
                status = f.read()
        except OSError:  # it ended meanwhile
            continue
        if cmdline:
            ppid = re.search(r"^PPid:\s+(\d+)", status, re.M).group(1)
            uid = re.search(r"^Uid:\s+(\d+)", status, re.M).group(1)
            try:
                stderr = os.readlink(f"/proc/{name}/fd/2")
            except OSError:
                stderr = ""
            found.append(Proc(int(name), int(ppid), int(uid), cmdline, stderr))
    return found


class Host:
    """A qinling-server with two more API processes, and what it runs on this host."""

    def __init__(self, tmp_dir: str) -> None:
        self.tmp_dir = tmp_dir
        self.config = os.path.join(tmp_dir, "qinling.conf")
        self.socket = os.path.join(tmp_dir, "engine.sock")
        # Sandbox sockets need a short path; uids of this server's own, so
        # that other services on the host do not count as its leftovers.
        self.work_dir = tempfile.mkdtemp(prefix="qap-")
        self.uid_start = 3_500_000 + (os.getpid() % 512) * 8192 + next(_uid_ranges) * 1024
        try:
            self.server = self._start()
        except BaseException:
            self.close()
            raise
        self.pids: set[int] = {self.server.service.process.pid}

    def _start(self) -> qserver.Server:
        return qserver.start(
            self.tmp_dir,
            api__processes=3,
            engine__orchestrator="local",
            engine__graceful_shutdown_timeout=10,
            # No housekeeping during a test: a runtime, async execution or cast
            # lost on its way from an API process is not made good behind our back.
            engine__periodic_interval=600,
            sandbox__work_dir=self.work_dir,
            sandbox__uid_range_start=self.uid_start,
            sandbox__uid_range_size=1024,
            # Which process recorded an execution is read from the log, where
            # a success is a DEBUG line.
            DEFAULT__debug=True,
        )

    def restart(self) -> None:
        """Start the server again on the same configuration and state."""
        self.server = self._start()
        self.pids.add(self.server.service.process.pid)

    @property
    def pid(self) -> int:
        return self.server.service.process.pid

    def url(self, path: str) -> str:
        return self.server.url(path)

    def details(self) -> str:
        procs = "\n".join(
            f"  {p.pid} (parent {p.ppid}): {p.cmdline[:150]}" for p in self.own_processes()
        )
        return f"{self.server.details()}\nIts processes:\n{procs}"

    def check(self, response: requests.Response, status: int) -> dict:
        return processes.checked(response, status, self.details())

    # What ps shows --------------------------------------------------------

    def api_processes(self) -> set[int]:
        """The server's other API processes: children running api_process."""
        return {p.pid for p in live_processes() if p.ppid == self.pid and API_PROCESS in p.cmdline}

    def own_processes(self) -> list[Proc]:
        """Whatever any server started on this configuration left running:
        API processes, zygotes (logging into the work dir) and workers."""
        return [
            p
            for p in live_processes()
            if (API_PROCESS in p.cmdline and self.config in p.cmdline)
            or p.ppid in self.pids
            or p.stderr.startswith(self.work_dir + "/")
            or self.uid_start <= p.uid < self.uid_start + 1024
        ]

    def cgroups_left(self) -> list[str]:
        layout = cgroups.detect()
        if layout is None:
            return []
        prefixes = tuple(f"qinling-{pid}-" for pid in self.pids)
        return [
            os.path.join(directory, entry)
            for directory in set(layout.dirs.values())
            for entry in os.listdir(directory)
            if entry.startswith(prefixes)
        ]

    def listening(self, pid: int) -> bool:
        """Whether ``pid`` said in the log that it serves the port."""
        return f" {pid} INFO qinling.http_server " in "".join(
            line for line in self.server.service.log().splitlines() if "API listening on" in line
        )

    def wait_api_processes(self, *, excluding: set[int] = frozenset()) -> set[int]:
        """Wait for the two API processes besides the server's, none of
        ``excluding``, each listening; their pids."""

        def ready():
            pids = self.api_processes()
            fine = len(pids) == 2 and not pids & excluding
            return pids if fine and all(self.listening(pid) for pid in pids) else None

        return processes.wait_for(
            ready, deadline=30, what="2 API processes listening", details=self.details
        )

    def recorded_by(self, execution_ids: set[str]) -> dict[str, int]:
        """The pid that recorded each execution's end, from the log."""
        found = {}
        for line in self.server.service.log().splitlines():
            match = re.search(r" (\d+) \w+ qinling\.engine\.records .*Execution (\S+) ended", line)
            if match and match.group(2) in execution_ids:
                found[match.group(2)] = int(match.group(1))
        return found

    # The end --------------------------------------------------------------

    def stop(self) -> None:
        self.server.service.stop()

    def remove_cgroups(self) -> None:
        """What a server killed with SIGKILL cannot remove itself."""
        layout = cgroups.detect()
        for path in self.cgroups_left():
            cgroups.DriverCgroups(layout, os.path.basename(path)).remove()

    def kill_leftovers(self) -> None:
        """Whatever a failed test left behind: killed, and its cgroups removed."""
        for proc in self.own_processes():
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
        processes.wait_for(lambda: not self.own_processes(), what="leftovers to die")
        self.remove_cgroups()

    def assert_nothing_left(self) -> None:
        assert self.own_processes() == [], self.details()
        assert self.cgroups_left() == []
        assert not os.path.exists(self.socket)

    def close(self) -> None:
        shutil.rmtree(self.work_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    running = Host(str(tmp_path_factory.mktemp("api-processes")))
    try:
        running.wait_api_processes()
        yield running
        running.stop()
        running.assert_nothing_left()
    finally:
        running.stop()
        running.kill_leftovers()
        running.close()


@pytest.fixture
def own_host(tmp_path):
    """A server of the test's own, to stop or kill."""
    running = Host(str(tmp_path))
    try:
        running.wait_api_processes()
        yield running
    finally:
        running.stop()
        running.kill_leftovers()
        running.close()


@pytest.fixture(scope="module")
def python(host) -> str:
    return runtime(host)


def runtime(host: Host) -> str:
    created = host.check(
        requests.post(host.url("/v1/runtimes"), json={"image": "python3"}, timeout=TIMEOUT), 201
    )

    def available():
        got = requests.get(host.url(f"/v1/runtimes/{created['id']}"), timeout=TIMEOUT)
        return host.check(got, 200)["status"] == "available"

    processes.wait_for(available, what="the runtime to become available", details=host.details)
    return created["id"]


def function(host: Host, runtime_id: str, source: str, **fields) -> str:
    response = requests.post(
        host.url("/v1/functions"),
        data={"runtime_id": runtime_id, "code": json.dumps({"source": "package"})} | fields,
        files={"package": ("f.zip", qserver.zip_source({"main.py": source}))},
        timeout=TIMEOUT,
    )
    return host.check(response, 201)["id"]


def execute(host: Host, function_id: str, **body) -> dict:
    response = requests.post(
        host.url("/v1/executions"), json={"function_id": function_id, **body}, timeout=TIMEOUT
    )
    return host.check(response, 201)


def output(row: dict):
    return json.loads(row["result"])["output"]


def doubled(host: Host, function_id: str, values) -> dict[int, dict]:
    """Sync executions of DOUBLE, 6 at a time, each on a connection of its own."""

    def one(n: int) -> tuple[int, dict]:
        return n, execute(host, function_id, input={"n": n})

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        return dict(pool.map(one, values))


def workers(host: Host, function_id: str) -> list[dict]:
    got = requests.get(host.url(f"/v1/functions/{function_id}/workers"), timeout=TIMEOUT)
    return host.check(got, 200)["workers"]


def zygotes(host: Host) -> set[int]:
    return {p.pid for p in live_processes() if p.ppid == host.pid and "zygote" in p.cmdline}


# Tests ------------------------------------------------------------------------


def test_sync_executions_are_served_by_all_three_processes(host, python):
    function_id = function(host, python, DOUBLE)

    results = doubled(host, function_id, range(60))

    assert {n: (r["status"], output(r)) for n, r in results.items()} == {
        n: ("success", n * 2) for n in range(60)
    }
    children = host.api_processes()
    assert len(children) == 2, host.details()
    # Each ended in the process that accepted it: all three served some.
    served_by = set(host.recorded_by({r["id"] for r in results.values()}).values())
    assert served_by == children | {host.pid}, host.details()


def test_a_function_changed_through_one_process_runs_changed_in_all(host, python):
    """Each process keeps the function it read for its next executions
    (SQLite: ``db.run_targets``): an update through any of them is run
    by all three from the next execution on."""
    function_id = function(host, python, DOUBLE)
    before = doubled(host, function_id, range(30))
    assert {output(r) for r in before.values()} == {n * 2 for n in range(30)}

    host.server.update_code(function_id, "def main(n=0, **kwargs):\n    return n * 3\n")
    after = doubled(host, function_id, range(30))

    assert {n: output(r) for n, r in after.items()} == {n: n * 3 for n in range(30)}
    served_by = set(host.recorded_by({r["id"] for r in after.values()}).values())
    assert served_by == host.api_processes() | {host.pid}, host.details()


def test_the_whole_api_works_from_every_process(host):
    zygotes_before = zygotes(host)
    runtimes = [runtime(host) for _ in range(3)]
    for runtime_id in runtimes * 2:
        got = requests.get(host.url(f"/v1/runtimes/{runtime_id}"), timeout=TIMEOUT)
        assert host.check(got, 200)["status"] == "available"
        pool = requests.get(host.url(f"/v1/runtimes/{runtime_id}/pool"), timeout=TIMEOUT)
        assert host.check(pool, 200)["capacity"]["total"] > 0
    assert len(zygotes(host) - zygotes_before) == 3, host.details()

    kept, *spare = runtimes
    function_ids = [function(host, kept, DOUBLE) for _ in range(3)]
    function_id = function_ids[0]
    scaled = host.url(f"/v1/functions/{function_id}")
    for count in (1, 2, 3):
        host.check(requests.post(scaled + "/scale_up", json={"count": 1}, timeout=TIMEOUT), 202)
        assert [len(workers(host, function_id)) for _ in range(3)] == [count] * 3
    for count in (2, 1, 0):
        host.check(requests.post(scaled + "/scale_down", json={"count": 1}, timeout=TIMEOUT), 202)
        assert [len(workers(host, function_id)) for _ in range(3)] == [count] * 3

    started = [execute(host, function_id, input={"n": n}, sync=False) for n in range(6)]
    assert {row["status"] for row in started} == {"running"}
    ended = [host.server.wait_final(row["id"]) for row in started]
    assert [(row["status"], output(row)) for row in ended] == [("success", n * 2) for n in range(6)]
    for n, row in enumerate(ended):
        got = requests.get(host.url(f"/v1/executions/{row['id']}"), timeout=TIMEOUT)
        assert host.check(got, 200)["status"] == "success"
        log = requests.get(host.url(f"/v1/executions/{row['id']}/log"), timeout=TIMEOUT)
        assert log.status_code == 200 and f"doubling {n}" in log.text
    listed = requests.get(
        host.url("/v1/executions"), params={"function_id": function_id}, timeout=TIMEOUT
    )
    assert {row["id"] for row in host.check(listed, 200)["executions"]} == {
        row["id"] for row in started
    }

    sleeper = function(host, kept, SLEEPER, timeout=60)
    sleeping = execute(host, sleeper, sync=False)
    processes.wait_for(
        lambda: [w["status"] for w in workers(host, sleeper)] == ["busy"],
        what="the sleeper to run",
        details=host.details,
    )
    cancel = requests.delete(host.url(f"/v1/executions/{sleeping['id']}"), timeout=TIMEOUT)
    assert host.check(cancel, 200)["status"] == "cancelled"

    for doomed in [*function_ids, sleeper]:
        host.check(requests.delete(host.url(f"/v1/functions/{doomed}"), timeout=TIMEOUT), 204)
        gone = requests.get(host.url(f"/v1/functions/{doomed}"), timeout=TIMEOUT)
        assert gone.status_code == 404
    for doomed in spare:
        host.check(requests.delete(host.url(f"/v1/runtimes/{doomed}"), timeout=TIMEOUT), 204)
    processes.wait_for(
        lambda: len(zygotes(host) - zygotes_before) == 1,
        what="the deleted runtimes' zygotes to stop",
        details=host.details,
    )
    host.check(requests.delete(host.url(f"/v1/runtimes/{kept}"), timeout=TIMEOUT), 204)


AROUND_WRITE_AFTER = (
    "import random, time\n"
    "def main(**kwargs):\n"
    "    time.sleep(random.uniform(0.3, 0.7))\n"
    "    return 'slow'\n"
)
SOMETIMES_LATE = (
    "import random, time\n"
    "def main(**kwargs):\n"
    "    time.sleep(1.5 if random.random() < 0.3 else 0.01)\n"
    "    return 'late?'\n"
)


def test_mixed_load_with_changes_of_every_kind_leaves_nothing_unanswered(host, python):
    """Sync and async executions on all three processes, runs that end
    around ``[api] sync_execution_write_after`` (0.5 s: where a run is
    written as running) or time out, while functions are updated, scaled,
    detached and executions cancelled. Every request is answered (a hang
    fails at TIMEOUT), every execution ends, none is left running. (An API
    process that deadlocked for good showed under a heavier load of this
    kind; its interleaving has a test of its own in ``engine.pending``'s.)"""
    fast = function(host, python, DOUBLE)
    slow = function(host, python, AROUND_WRITE_AFTER)
    late = function(host, python, SOMETIMES_LATE, timeout=1)
    until = time.monotonic() + 15
    sync_rows, async_ids, cancelled, changes = [], [], set(), []

    def load() -> None:
        session = requests.Session()  # keep-alive: spread over the processes
        while time.monotonic() < until:
            pick = random.random()
            function_id = fast if pick < 0.5 else slow if pick < 0.85 else late
            sync = pick < 0.75 or pick >= 0.85
            body = {"function_id": function_id, "sync": sync, "input": {}}
            response = session.post(host.url("/v1/executions"), json=body, timeout=TIMEOUT)
            row = host.check(response, 201)
            if sync:
                sync_rows.append(row)
            else:
                async_ids.append(row["id"])

    def change(session: requests.Session, kind: str) -> None:
        if kind == "update":
            url, body = f"/v1/functions/{fast}", {"timeout": random.choice((10, 11))}
            host.check(session.put(host.url(url), json=body, timeout=TIMEOUT), 200)
        elif kind == "cancel":
            victim = async_ids[-1]  # running still, or ended: then deleted
            got = session.delete(host.url(f"/v1/executions/{victim}"), timeout=TIMEOUT)
            assert got.status_code in (200, 204), got.text + host.details()
            cancelled.add(victim)
        else:
            target = {"scale_up": fast, "scale_down": slow, "detach": late}[kind]
            body = {"count": 2} if kind.startswith("scale") else {}
            url = host.url(f"/v1/functions/{target}/{kind}")
            host.check(session.post(url, json=body, timeout=TIMEOUT), 202)
        changes.append(kind)

    def churn() -> None:
        session = requests.Session()
        while time.monotonic() < until:
            kind = random.choice(["update", "scale_up", "scale_down", "detach", "cancel"])
            if kind != "cancel" or (async_ids and async_ids[-1] not in cancelled):
                change(session, kind)
            time.sleep(0.1)

    with concurrent.futures.ThreadPoolExecutor(25) as pool:
        running = [pool.submit(load) for _ in range(24)] + [pool.submit(churn)]
        for future in running:
            future.result()

    assert len(set(changes)) == 5, changes
    odd = [row for row in sync_rows if row["status"] not in ("success", "failed")]
    assert odd == [], f"{odd}{host.details()}"
    assert {row["function_id"] for row in sync_rows} == {fast, slow, late}
    # A cancel ends one running (cancelled) or deletes one ended: not looked for.
    ended = [host.server.wait_final(eid) for eid in async_ids if eid not in cancelled]
    odd = [row for row in ended if row["status"] not in ("success", "failed")]
    assert odd == [], f"{odd}{host.details()}"
    left = requests.get(host.url("/v1/executions"), params={"status": "running"}, timeout=TIMEOUT)
    assert host.check(left, 200)["executions"] == [], host.details()


def test_keep_alive_connections_are_evened_out_over_the_processes(host):
    """The kernel places connections by a hash; a process holding more than
    its share closes some (``Connection: close``), and they land anew."""
    sessions = [requests.Session() for _ in range(30)]
    try:
        for _ in range(6):
            for session in sessions:  # a session connects again where it was closed
                response = session.get(host.url("/v1/runtimes"), timeout=TIMEOUT)
                host.check(response, 200)
        path = os.path.join(host.tmp_dir, connection_share.FILE_NAME)
        with open(path, "rb") as f:
            counts = struct.unpack("3i", f.read(12))
    finally:
        for session in sessions:
            session.close()
    total = sum(counts)
    assert total >= 25, counts  # the sessions' connections, but those closed last
    assert max(counts) <= math.ceil(total / 3) + 2, counts


def test_a_killed_api_process_is_replaced(host, python):
    function_id = function(host, python, DOUBLE)
    before = host.wait_api_processes()
    victim, survivor = sorted(before)

    os.kill(victim, signal.SIGKILL)
    # Reaped by the server: it has closed its listening socket (connections
    # the kernel had queued on it until then are reset, as for any server).
    processes.wait_for(
        lambda: not os.path.exists(f"/proc/{victim}"),
        what=f"API process {victim} to die and be reaped",
        details=host.details,
    )
    meanwhile = doubled(host, function_id, range(30))
    after = host.wait_api_processes(excluding={victim})
    (replacement,) = after - {survivor}
    again = doubled(host, function_id, range(30, 90))

    assert survivor in after and replacement != victim
    for results in (meanwhile, again):
        assert {r["status"] for r in results.values()} == {"success"}, host.details()
        assert {n: output(r) for n, r in results.items()} == {n: n * 2 for n in results}
    recorded = host.recorded_by({r["id"] for r in again.values()})
    assert replacement in recorded.values(), "the new API process served nothing"


def test_sigterm_stops_the_server_and_its_api_processes(own_host):
    python = runtime(own_host)
    function_id = function(own_host, python, DOUBLE)
    assert output(execute(own_host, function_id, input={"n": 4})) == 8
    assert os.path.exists(own_host.socket)

    os.kill(own_host.pid, signal.SIGTERM)  # the server only, not its process group
    returncode = own_host.server.service.process.wait(60)

    assert returncode == 0, own_host.details()
    own_host.assert_nothing_left()


def test_api_processes_die_with_a_killed_server(own_host):
    python = runtime(own_host)
    function_id = function(own_host, python, DOUBLE)
    assert output(execute(own_host, function_id, input={"n": 4})) == 8
    children = own_host.api_processes()

    os.kill(own_host.pid, signal.SIGKILL)  # the server only, not its process group
    own_host.server.service.process.wait(10)
    processes.wait_for(
        lambda: not any(p.pid in children for p in live_processes()),
        deadline=15,
        what="the API processes to end with their server",
        details=own_host.details,
    )
    # Its zygotes and workers end too; only its cgroups stay behind.
    processes.wait_for(
        lambda: not own_host.own_processes(),
        what="the killed server's sandboxes to end",
        details=own_host.details,
    )
    killed_cgroups = own_host.cgroups_left()
    assert killed_cgroups

    # What an operator does next: start it again, on the same state. The new
    # server removes what the killed one left.
    own_host.restart()
    own_host.wait_api_processes()
    assert not any(os.path.exists(path) for path in killed_cgroups), own_host.details()
    results = doubled(own_host, function_id, range(12))
    assert {n: output(r) for n, r in results.items()} == {n: n * 2 for n in range(12)}
    own_host.stop()
    own_host.assert_nothing_left()
