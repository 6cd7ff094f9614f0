"""The zygote: one single-threaded process per runtime that forks workers.

Started by the driver (``zygote_client.Zygote``) as
``python -I -S -c BOOT LOCAL_DIR CONFIG_JSON``. It imports the runtime agent
and the runtime's pre-import list once, freezes the garbage collector so
forked workers share those pages copy-on-write, then serves ``spawn``
requests on its control socket, one at a time; a request may name several
workers (the driver sends those asked for meanwhile together).

A spawn forks once. For an isolated worker the zygote first unshares a PID
namespace for its next child only (and returns to its own one right after
the fork), so the child is pid 1 of a new PID namespace; it joins its
cgroups, unshares the other namespaces and becomes the worker
(``jail.enter``). The zygote is a child subreaper that ignores SIGCHLD, so
workers are reaped by the kernel when they die and never reach the host's
init. The driver receives a pidfd of each worker to watch and kill it. A
worker that cannot set itself up reports why on its channel.

A spawn request carries two descriptors, the worker's ends of two socket
pairs with the driver: its channel, on which the agent serves the driver's
requests, and its attach socket, on which the driver later names the
function the worker is for (see ``jail``). So a worker can be spawned ahead
of need.

When the control socket closes (the driver went away) the zygote exits,
which closes the lifeline pipe that workers waiting for their function
watch, so they exit too; a worker with a function exits when its channel
closes.
"""

from __future__ import annotations

import gc
import importlib
import importlib.util
import json
import os
import signal
import socket
import sys
from types import ModuleType
from typing import Any

from . import jail, wire
from . import syscalls as sc

# A spare is sandboxed this much nicer than the service, so that it does not
# compete with the cold starts running meanwhile; the driver restores the
# service's priority when it attaches one.
BACKGROUND_NICENESS = 10
# Most workers one spawn request names (two descriptors each; the kernel
# passes at most 253 in one message).
MAX_SPAWNS = 32


class Zygote:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.control = socket.socket(fileno=config["control_fd"])
        self.lifeline_r, self.lifeline_w = os.pipe()
        self.own_pid_namespace = os.open("/proc/self/ns/pid", os.O_RDONLY | os.O_CLOEXEC)
        self.agent = _load_agent(config["runtime"])
        self.template: tuple | None = None

    def serve(self) -> None:
        wire.send(self.control, {"ready": True, "pid": os.getpid()})
        while True:
            try:
                request, fds = wire.recv_with_fds(self.control, max_fds=2 * MAX_SPAWNS)
            except (wire.ConnectionClosed, OSError):
                return
            try:
                plans = request["plans"]
                if len(fds) != 2 * len(plans):
                    raise ValueError(f"{len(plans)} spawns need {2 * len(plans)} descriptors")
                reply, reply_fds = self.spawn_all(plans, fds)
            except Exception as exc:  # every failure goes back to the driver
                reply, reply_fds = {"error": f"{type(exc).__name__}: {exc}"}, []
            finally:
                for fd in fds:
                    os.close(fd)
            wire.send(self.control, reply, reply_fds)
            for fd in reply_fds:
                os.close(fd)

    def spawn_all(
        self, plans: list[dict[str, Any]], fds: list[int]
    ) -> tuple[dict[str, Any], list[int]]:
        """Fork a worker per plan, each given its two descriptors: the reply
        (each one's pid, or why it failed) and the pidfds of those forked.

        The forks follow one another with little in between: each page the
        zygote writes after a fork is copied, as the worker shares it
        (measured: 150 such faults a spawn when each came in its own request).
        """
        gc.freeze()
        results: list[dict[str, Any]] = []
        pidfds: list[int] = []
        for index, plan in enumerate(plans):
            try:
                pid = self.spawn(plan, (fds[2 * index], fds[2 * index + 1]))
                pidfds.append(os.pidfd_open(pid))
                results.append({"pid": pid})
            except Exception as exc:  # that worker's failure; the others go on
                results.append({"error": f"{type(exc).__name__}: {exc}"})
        return {"spawned": results}, pidfds

    def spawn(self, plan: dict[str, Any], sockets: tuple[int, int]) -> int:
        if plan["isolate"]:
            self._prepare(plan)
            sc.unshare(sc.CLONE_NEWPID)
        try:
            pid = os.fork()
            if pid == 0:
                self._child(plan, sockets)
        finally:
            if plan["isolate"]:  # in the zygote only: the child never gets here
                sc.setns(self.own_pid_namespace, sc.CLONE_NEWPID)
        return pid

    def _prepare(self, plan: dict[str, Any]) -> None:
        """The template root every isolated worker starts from, built once."""
        key = jail.template_key(plan)
        if self.template is None:
            jail.prepare_zygote(plan)
            self.template = key
        elif self.template != key:
            raise ValueError("a zygote serves one root layout; start another for this one")

    def _child(self, plan: dict[str, Any], sockets: tuple[int, int]) -> None:
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            self.control.detach()  # jail.enter closes every descriptor it does not need
            if plan.get("background"):
                os.nice(BACKGROUND_NICENESS)
            channel_fd, attach_fd = sockets
            # Only a spare has time to rehearse: it waits for its function.
            rehearse = getattr(self.agent, "rehearse", None) if plan.get("background") else None
            jail.enter(plan, (channel_fd, self.lifeline_r, attach_fd), self._runner, rehearse)
        finally:
            os._exit(1)

    def _runner(self, plan: dict[str, Any]) -> None:
        if self.agent is not None:
            # The lifeline is for exec'd agents (node's); this one ends with its channel.
            os.close(jail.LIFELINE_FD)
            self.agent.serve(jail.CHANNEL_FD, plan["agent"])
        else:
            argv = plan["command"]
            os.execve(argv[0], argv, plan["env"])


def _load_agent(runtime: dict[str, Any]) -> ModuleType | None:
    """Import an in-process agent and its pre-import list; None for exec runtimes."""
    if runtime["kind"] != "python":
        return None
    spec = importlib.util.spec_from_file_location("_qinling_agent", runtime["agent_path"])
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load agent {runtime['agent_path']}")
    agent = importlib.util.module_from_spec(spec)
    sys.modules["_qinling_agent"] = agent
    spec.loader.exec_module(agent)
    for name in runtime.get("preload", ()):
        importlib.import_module(name)
    return agent


def main(config_json: str) -> None:
    os.umask(0o022)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    sc.prctl(sc.PR_SET_CHILD_SUBREAPER, 1)  # orphans of unsafe-mode workers end here
    # Workers run under the normal policy, whatever the thread that started
    # this one runs under ([api] batch_scheduling: the API's threads).
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    zygote = Zygote(json.loads(config_json))
    gc.collect()
    gc.freeze()
    zygote.serve()
    os._exit(0)
