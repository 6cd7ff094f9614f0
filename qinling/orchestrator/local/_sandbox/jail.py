"""Turn a freshly forked process into a sandboxed worker.

Runs as root, as pid 1 of a new PID namespace, inside new mount, UTS, IPC,
cgroup and (unless egress is allowed) network namespaces that the zygote's
intermediate child created. ``enter`` builds a private root file system,
pivots into it, applies rlimits, drops every capability and the uid, then
hands over to the runtime agent. In unsafe development mode only the
session, the working directory and the descriptors are set up.
"""

from __future__ import annotations

import os
import resource
import socket
from collections.abc import Callable
from typing import Any

from . import syscalls as sc
from . import wire

LISTEN_FD = 3
LIFELINE_FD = 4

_DEVICES = ("null", "zero", "full", "random", "urandom")
_BIND_FLAGS = sc.MS_NOSUID | sc.MS_NODEV
_RLIMITS = {
    "NOFILE": resource.RLIMIT_NOFILE,
    "NPROC": resource.RLIMIT_NPROC,
    "CORE": resource.RLIMIT_CORE,
    "FSIZE": resource.RLIMIT_FSIZE,
    "STACK": resource.RLIMIT_STACK,
}

Runner = Callable[[dict[str, Any]], None]


def enter(plan: dict[str, Any], listen_fd: int, lifeline_fd: int, run: Runner) -> None:
    """Never returns: the worker runs ``run(plan)`` and exits."""
    try:
        os.setsid()  # its own session and process group, killed as one in unsafe mode
        _arrange_fds(listen_fd, lifeline_fd)
        if plan["isolate"]:
            _isolate(plan)
        else:
            os.chdir(plan["package_dir"])
        os.environ.clear()
        os.environ.update(plan["env"])
    except BaseException as exc:  # reported to the driver, then exit
        _report_failure(f"sandbox setup failed: {type(exc).__name__}: {exc}")
    try:
        run(plan)
    finally:
        os._exit(0)


def _arrange_fds(listen_fd: int, lifeline_fd: int) -> None:
    """Keep only stdio, the listening socket (fd 3) and the lifeline (fd 4)."""
    os.dup2(listen_fd, 100)
    os.dup2(lifeline_fd, 101)
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        if fd > 2 and fd not in (100, 101):
            try:
                os.close(fd)
            except OSError:
                pass  # the descriptor of the listdir itself
    os.dup2(100, LISTEN_FD)
    os.dup2(101, LIFELINE_FD)
    os.close(100)
    os.close(101)
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def _report_failure(message: str) -> None:
    try:
        sock = socket.socket(fileno=LISTEN_FD)
        sock.settimeout(10)
        conn, _ = sock.accept()
        wire.send(conn, {"ready": False, "error": message})
        conn.close()
    finally:
        os._exit(1)


def _isolate(plan: dict[str, Any]) -> None:
    sc.sethostname(plan["hostname"])
    if plan["private_network"]:
        sc.loopback_up()
    sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
    root = plan["rootfs"]
    sc.mount("tmpfs", root, "tmpfs", _BIND_FLAGS, "size=1m,mode=0755")
    for host_path, inside in plan["ro_mounts"]:
        _bind(host_path, root + inside)
    _bind(plan["package_dir"], root + "/function")
    _bind(plan["runtime_dir"], root + "/opt/qinling/runtime")
    _make_tmp(root, plan["tmp_size"])
    _make_dev(root)
    os.makedirs(root + "/proc")
    sc.mount("proc", root + "/proc", "proc", _BIND_FLAGS | sc.MS_NOEXEC)
    _write_etc(root, plan)
    os.chdir(root)
    sc.pivot_root(".", ".")
    sc.umount(".")
    os.chdir("/")
    sc.mount(None, "/", None, sc.MS_REMOUNT | sc.MS_RDONLY | _BIND_FLAGS)
    _drop_privileges(plan)
    os.chdir("/function")


def _bind(host_path: str, target: str) -> None:
    """Bind ``host_path`` read-only at ``target``; a symlink is recreated instead."""
    if os.path.islink(host_path):
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if not os.path.lexists(target):
            os.symlink(os.readlink(host_path), target)
        return
    if os.path.isdir(host_path):
        os.makedirs(target, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        open(target, "w").close()
    sc.mount(host_path, target, None, sc.MS_BIND | sc.MS_REC)
    sc.mount(None, target, None, sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY | _BIND_FLAGS)


def _make_tmp(root: str, size: int) -> None:
    os.makedirs(root + "/tmp")
    sc.mount("tmpfs", root + "/tmp", "tmpfs", _BIND_FLAGS, f"size={size},mode=1777")


def _make_dev(root: str) -> None:
    dev = root + "/dev"
    os.makedirs(dev)
    sc.mount("tmpfs", dev, "tmpfs", sc.MS_NOSUID, "size=64k,mode=0755")
    for name in _DEVICES:
        open(f"{dev}/{name}", "w").close()
        sc.mount(f"/dev/{name}", f"{dev}/{name}", None, sc.MS_BIND)
    os.symlink("/proc/self/fd", f"{dev}/fd")
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{fd}", f"{dev}/{name}")
    os.makedirs(dev + "/shm")
    sc.mount("tmpfs", dev + "/shm", "tmpfs", _BIND_FLAGS, "size=1m,mode=1777")
    sc.mount(None, dev, None, sc.MS_REMOUNT | sc.MS_RDONLY | sc.MS_NOSUID)


def _write_etc(root: str, plan: dict[str, Any]) -> None:
    os.makedirs(root + "/etc", exist_ok=True)
    uid, gid = plan["uid"], plan["gid"]
    files = {
        "passwd": f"root:x:0:0::/:/bin/false\nsandbox:x:{uid}:{gid}::/tmp:/bin/false\n",
        "group": f"root:x:0:\nsandbox:x:{gid}:\n",
        "hosts": f"127.0.0.1 localhost {plan['hostname']}\n::1 localhost\n",
        "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files dns\n",
    }
    for name, text in files.items():
        with open(f"{root}/etc/{name}", "w") as f:
            f.write(text)


def _drop_privileges(plan: dict[str, Any]) -> None:
    for name, value in plan["rlimits"].items():
        resource.setrlimit(_RLIMITS[name], (value, value))
    sc.drop_capability_bounding_set()
    os.setgroups([])
    os.setresgid(plan["gid"], plan["gid"], plan["gid"])
    os.setresuid(plan["uid"], plan["uid"], plan["uid"])
    sc.prctl(sc.PR_SET_NO_NEW_PRIVS, 1)
