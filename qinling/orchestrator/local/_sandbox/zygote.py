"""The zygote: one single-threaded process per runtime that forks workers.

Started by the driver (``zygote_client.Zygote``) as
``python -I -S -c BOOT LOCAL_DIR CONFIG_JSON``. It imports the runtime agent
and the runtime's pre-import list once, freezes the garbage collector so
forked workers share those pages copy-on-write, then serves ``spawn``
requests on its control socket, one at a time.

A spawn forks twice: the first child joins the worker's cgroups and
unshares the namespaces; its child is pid 1 of the new PID namespace and
becomes the worker (``jail.enter``). The first child reports the worker's
pid and exits. The zygote is a child subreaper that ignores SIGCHLD, so
workers are reaped by the kernel when they die and never reach the host's
init. The driver receives a pidfd of each worker to watch and kill it.

When the control socket closes (the driver went away) the zygote exits,
which closes the lifeline pipe every worker watches, so workers exit too.
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

_NAMESPACES = (
    sc.CLONE_NEWNS | sc.CLONE_NEWUTS | sc.CLONE_NEWIPC | sc.CLONE_NEWPID | sc.CLONE_NEWCGROUP
)


class Zygote:
    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        self.control = socket.socket(fileno=config["control_fd"])
        self.lifeline_r, self.lifeline_w = os.pipe()
        self.agent = _load_agent(config["runtime"])

    def serve(self) -> None:
        wire.send(self.control, {"ready": True, "pid": os.getpid()})
        while True:
            try:
                request, fds = wire.recv_with_fds(self.control)
            except (wire.ConnectionClosed, OSError):
                return
            try:
                reply, reply_fds = self.spawn(request["plan"], fds[0])
            except Exception as exc:  # every failure goes back to the driver
                reply, reply_fds = {"error": f"{type(exc).__name__}: {exc}"}, []
            finally:
                for fd in fds:
                    os.close(fd)
            wire.send(self.control, reply, reply_fds)
            for fd in reply_fds:
                os.close(fd)

    def spawn(self, plan: dict[str, Any], listen_fd: int) -> tuple[dict[str, Any], list[int]]:
        read_end, write_end = os.pipe()
        gc.freeze()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            self._first_child(plan, listen_fd, write_end)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            answer = pipe.read().decode()
        if not answer.startswith("pid "):
            return {"error": answer or "the sandbox launcher died"}, []
        worker_pid = int(answer[4:])
        return {"pid": worker_pid}, [os.pidfd_open(worker_pid)]

    def _first_child(self, plan: dict[str, Any], listen_fd: int, report_fd: int) -> None:
        try:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            self.control.detach()
            os.setsid()
            for procs_file in plan["cgroup_procs"]:
                with open(procs_file, "w") as f:
                    f.write(str(os.getpid()))
            if plan["isolate"]:
                flags = _NAMESPACES | (sc.CLONE_NEWNET if plan["private_network"] else 0)
                sc.unshare(flags)
            pid = os.fork()
            if pid == 0:
                os.close(report_fd)
                os.close(self.lifeline_w)
                jail.enter(plan, listen_fd, self.lifeline_r, self._runner)
            os.write(report_fd, f"pid {pid}".encode())
        except BaseException as exc:  # reported through the pipe
            os.write(report_fd, f"sandbox launcher failed: {type(exc).__name__}: {exc}".encode())
        finally:
            os._exit(0)

    def _runner(self, plan: dict[str, Any]) -> None:
        if self.agent is not None:
            self.agent.serve(jail.LISTEN_FD, jail.LIFELINE_FD, plan["agent"])
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
    sc.prctl(sc.PR_SET_CHILD_SUBREAPER, 1)
    zygote = Zygote(json.loads(config_json))
    gc.collect()
    gc.freeze()
    zygote.serve()
    os._exit(0)
