"""Starting and stopping workers: packages, uids, cgroups, channels, zygote.

A worker starts in two steps: ``spawn`` has the zygote fork a sandboxed
process that waits for its function, ``attach`` names the function (its
package, environment and entry) and waits until the agent has loaded it.
Spawning can happen ahead of need (see ``spares``).
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import socket
import sys
import threading
import time
from typing import Any

from qinling import exceptions
from qinling.orchestrator import base
from qinling.orchestrator.local import cgroups, networks, packages, runs, runtimes, zygote_client
from qinling.orchestrator.local._sandbox import wire
from qinling.orchestrator.local.settings import Settings
from qinling.orchestrator.local.worker import Worker

LOG = logging.getLogger(__name__)

_HOST_MOUNTS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
_HOST_FILES = ("/etc/ld.so.cache", "/etc/localtime")
_EGRESS_FILES = ("/etc/resolv.conf", "/etc/ssl/certs", "/etc/ca-certificates")
_PATH = "/usr/local/bin:/usr/bin:/bin"
_SPARE_MEMORY = 64 * 1024 * 1024  # until attach sets the function's limit


class StartFailed(exceptions.OrchestratorError):
    """A worker could not be started (a platform fault)."""


class UidPool:
    """Hands out one uid per live worker, so workers never share an identity."""

    def __init__(self, start: int, size: int) -> None:
        self._free = list(range(start + size - 1, start - 1, -1))
        self._lock = threading.Lock()

    def take(self) -> int:
        with self._lock:
            if not self._free:
                raise StartFailed("No free worker uid is left ([sandbox] uid_range_size).")
            return self._free.pop()

    def give_back(self, uid: int) -> None:
        with self._lock:
            self._free.append(uid)


class Launcher:
    def __init__(
        self,
        settings: Settings,
        *,
        instance_dir: str,
        driver_cgroups: cgroups.DriverCgroups | None,
        isolate: bool,
    ) -> None:
        self.settings = settings
        self.isolate = isolate
        self.driver_cgroups = driver_cgroups
        self.rootfs = os.path.join(instance_dir, "rootfs")
        os.makedirs(self.rootfs, mode=0o755, exist_ok=True)
        package_root = os.path.join(instance_dir, "packages")
        os.makedirs(package_root, mode=0o700, exist_ok=True)
        self.packages = packages.PackageCache(
            package_root,
            max_bytes=settings.max_package_size,
            max_files=settings.max_package_files,
        )
        self.uids = UidPool(settings.uid_range_start, settings.uid_range_size)
        self._counter = itertools.count(1)
        # Looked up once: a zygote builds its workers' common root from its
        # first spawn's paths and refuses a spawn with others
        # (``jail.template_key``), so a host path that appeared meanwhile
        # (a package install) stopped every later start of the runtime. Also
        # a dozen stat calls fewer per start.
        self._mounts: dict[tuple[str, bool], list[str]] = {}
        self._python = os.path.realpath(getattr(sys, "_base_executable", sys.executable))

    def prepare_package(self, spec: base.FunctionSpec) -> tuple[str, str]:
        """The package's digest and extracted directory; PackageError."""
        if spec.package_path is None:
            raise packages.PackageError("The function has no package.")
        digest = spec.package_digest or packages.file_digest(spec.package_path)
        return digest, self.packages.prepare(spec.package_path, digest)

    def start(
        self,
        spec: base.FunctionSpec,
        definition: runtimes.RuntimeDefinition,
        zygote: zygote_client.Zygote,
        generation: int,
        package: tuple[str, str],
        spare: Worker | None = None,
        network: int | None = None,
    ) -> Worker:
        """A worker running the function, from ``spare`` when given; StartFailed otherwise.

        ``network``: the network namespace of the function version's workers
        (``networks``), which the worker joins instead of making one of its own.
        A spare that cannot take the function (it died while it waited: its
        zygote did, say) is replaced by a worker spawned for it.
        """
        started = time.monotonic()
        worker = spare or self.spawn(
            spec.runtime.id, definition, zygote, generation, own_network=network is None
        )
        try:
            self.attach(worker, spec, definition, package, network)
        except StartFailed as exc:
            self.stop(worker)
            if spare is None:
                raise
            LOG.warning("Spare worker %s could not start: %s; spawning another", worker.name, exc)
            return self.start(spec, definition, zygote, generation, package, None, network)
        except BaseException:
            self.stop(worker)
            raise
        worker.init_duration = time.monotonic() - started
        return worker

    def spawn(
        self,
        runtime_id: str,
        definition: runtimes.RuntimeDefinition,
        zygote: zygote_client.Zygote,
        generation: int,
        *,
        background: bool = False,
        own_network: bool = True,
    ) -> Worker:
        """A sandboxed worker waiting for its function; StartFailed otherwise.

        ``background``: sandbox it at a low CPU priority (a spare, not awaited).
        ``own_network``: False when its attach will bring the network
        namespace it is to join.
        """
        number = next(self._counter)
        worker = Worker(
            name=f"spare-{number}",
            key=("", 0),
            runtime_id=runtime_id,
            generation=generation,
            digest="",
            memory_size=max(definition.min_memory, _SPARE_MEMORY),
            uid=self.uids.take(),
            cgroup=None,
            max_frame=self.settings.max_output_size + self.settings.max_log_size + (1 << 20),
        )
        try:
            self._spawn(worker, number, definition, zygote, background, own_network)
        except BaseException:
            self.stop(worker)
            raise
        return worker

    def _spawn(
        self,
        worker: Worker,
        number: int,
        definition: runtimes.RuntimeDefinition,
        zygote: zygote_client.Zygote,
        background: bool,
        own_network: bool,
    ) -> None:
        if self.driver_cgroups is not None:
            worker.cgroup = self.driver_cgroups.worker(f"worker-{number}")
            try:
                worker.cgroup.create(worker.memory_size, self.settings.max_pids)
            except OSError as exc:
                raise StartFailed(f"Cannot create the worker's cgroup: {exc}") from exc
        # The worker's channel is a socket pair, not a socket bound to a path
        # that the agent would accept on: nothing of a worker is in the file
        # system, and no other process can connect to it. A bind cost the
        # file system an inode: 0.3 ms of CPU a worker on an ext4 directory
        # with many recently deleted ones (measured here), 4% of a start.
        worker.conn, channel = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        worker.attach, attach = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            plan = self._plan(worker, definition)
            plan["background"] = background and self.isolate
            if plan["network"] == "own" and not own_network:
                plan["network"] = "deferred"
            worker.pid, worker.pidfd = zygote.spawn(plan, channel.fileno(), attach.fileno())
        finally:
            channel.close()
            attach.close()

    def attach(
        self,
        worker: Worker,
        spec: base.FunctionSpec,
        definition: runtimes.RuntimeDefinition,
        package: tuple[str, str],
        network: int | None = None,
    ) -> None:
        """Give a spawned worker its function (and the network namespace to
        join, if any) and wait until it has loaded it."""
        digest, package_dir = package
        worker.name = f"{_short(spec.function_id)}-v{spec.version}-{next(self._counter)}"
        worker.key, worker.digest = spec.key, digest
        if worker.cgroup is not None:
            try:
                worker.cgroup.set_memory(spec.memory_size)
            except OSError as exc:
                raise StartFailed(f"Cannot set the worker's memory limit: {exc}") from exc
        worker.memory_size = spec.memory_size
        assert worker.attach is not None and worker.conn is not None
        try:
            # A spare was sandboxed in the background: give it the service's priority.
            os.setpriority(os.PRIO_PROCESS, worker.pid, os.getpriority(os.PRIO_PROCESS, 0))
            shared = [network] if network is not None and self.isolate else None
            wire.send(worker.attach, self._function(spec, definition, package_dir), shared)
        except OSError:
            pass  # it died: the hello below tells why
        finally:
            worker.attach.close()
            worker.attach = None
        self._await_hello(worker)
        if worker.cgroup is not None:
            worker.cgroup.limit_cpu(spec.cpu)

    def _await_hello(self, worker: Worker) -> None:
        assert worker.conn is not None
        worker.conn.settimeout(self.settings.worker_start_timeout)
        try:
            hello = wire.recv(worker.conn)
        except TimeoutError as exc:
            raise StartFailed(
                f"Worker {worker.name} did not become ready within "
                f"{self.settings.worker_start_timeout} s."
            ) from exc
        except (OSError, ValueError) as exc:
            reason = self._death_reason(worker) or f"({exc})"
            raise StartFailed(f"Worker {worker.name} exited while starting {reason}.") from exc
        if not hello.get("ready"):
            raise StartFailed(f"Worker {worker.name} could not start: {hello.get('error')}")
        worker.load_error = hello.get("load_error")
        worker.load_logs = hello.get("logs", "")
        worker.stdio = worker.read_stdio()
        worker.conn.setblocking(False)  # its calls wait with poll (``wire.exchange``)

    def new_network(self, *, background: bool = False) -> int | None:
        """A descriptor of a new private network namespace for a function
        version's workers to join; None when workers have none (no
        isolation, or egress allowed) or it cannot be made."""
        if not self.isolate or self.settings.allow_egress:
            return None
        return networks.make_private_network(background=background)

    def network_of(self, worker: Worker) -> int | None:
        """A descriptor of the worker's private network namespace, for the
        other workers of its function version to join; None without one."""
        if not self.isolate or self.settings.allow_egress:
            return None
        try:
            return os.open(f"/proc/{worker.pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None  # it is gone: the next worker makes one

    def _death_reason(self, worker: Worker) -> str | None:
        if worker.cgroup is not None and worker.cgroup.oom_kills():
            return f"(it ran out of its memory limit of {runs.mib(worker.memory_size)})"
        return None

    def _plan(self, worker: Worker, definition: runtimes.RuntimeDefinition) -> dict[str, Any]:
        """What the zygote needs to sandbox a worker, before it has a function."""
        private_network = not self.settings.allow_egress
        mounts = self._host_mounts(definition, private_network)
        return {
            "name": worker.name,
            "hostname": "qinling-worker",
            "isolate": self.isolate,
            # "own": made at spawn; "deferred": joined at attach; "host": egress allowed.
            "network": "own" if private_network else "host",
            "rootfs": self.rootfs,
            "ro_mounts": [[p, p] for p in mounts],
            "packages_dir": self.packages.root,
            "runtime_dir": definition.directory,
            "tmp_size": self.settings.tmp_size,
            "uid": worker.uid,
            "gid": worker.uid,
            "rlimits": {
                "NOFILE": self.settings.max_open_files,
                "NPROC": self.settings.max_pids,
                "CORE": 0,
            },
            "cgroup_procs": worker.cgroup.procs_files if worker.cgroup else [],
        }

    def _host_mounts(
        self, definition: runtimes.RuntimeDefinition, private_network: bool
    ) -> list[str]:
        key = (definition.directory, private_network)
        found = self._mounts.get(key)
        if found is None:
            host_files = _HOST_FILES + (() if private_network else _EGRESS_FILES)
            candidates = _HOST_MOUNTS + definition.mounts + host_files
            found = self._mounts[key] = [p for p in candidates if os.path.lexists(p)]
        return found

    def _function(
        self, spec: base.FunctionSpec, definition: runtimes.RuntimeDefinition, package_dir: str
    ) -> dict[str, Any]:
        """The attach message: which package to mount, how to run the function."""
        agent = {
            "entry": spec.entry or "main.main",
            "package_dir": "/function" if self.isolate else package_dir,
            "max_output": self.settings.max_output_size,
            "max_logs": self.settings.max_log_size,
        }
        env = {
            "PATH": _PATH,
            "HOME": "/tmp",
            "TMPDIR": "/tmp",
            "LANG": "C.UTF-8",
            **spec.environment,
        }
        if definition.kind == "python":
            agent["python"] = self._python
        else:
            env["QINLING_AGENT"] = json.dumps(agent)
        command = definition.command(spec.memory_size)
        if not self.isolate:
            command = [c.replace("/opt/qinling/runtime", definition.directory) for c in command]
        return {
            "package": os.path.basename(package_dir),
            "package_dir": package_dir,
            "env": env,
            "agent": agent,
            "command": command,
        }

    def stop(self, worker: Worker) -> None:
        """Kill the worker and release everything it held. Idempotent."""
        worker.state = base.WorkerState.STOPPING
        worker.kill()
        if not worker.wait_exit(5.0):
            LOG.warning("Worker %s did not exit after SIGKILL", worker.name)
        if worker.cgroup is not None:
            # Its pid 1 gone, the kernel has killed the rest of its PID
            # namespace; ``remove`` kills what a failed rmdir shows is left.
            if not worker.cgroup.remove():
                LOG.warning("Cgroup of worker %s could not be removed", worker.name)
            worker.cgroup = None
        worker.close()
        if worker.uid >= 0:
            self.uids.give_back(worker.uid)
            worker.uid = -1


def _short(function_id: str) -> str:
    cleaned = "".join(c for c in function_id if c.isalnum() or c in "-_")
    return cleaned[:8] or "function"
