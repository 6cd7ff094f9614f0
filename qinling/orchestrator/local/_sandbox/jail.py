"""Turn a freshly forked process into a sandboxed worker.

Runs as root, as pid 1 of a new PID namespace that the zygote created.
``enter`` joins the worker's cgroups, unshares new mount, UTS, IPC and
cgroup namespaces (and a network namespace where the plan says ``own``;
the driver normally gives one at attach: ``deferred``), and works in two
phases, so that a worker can be started ahead of need (a spare) and given
its function later:

1. Sandbox: finish the private root file system and pivot into it, apply
   rlimits. The driver's package directory is bound read-only at
   ``/.packages``; ``/function`` is empty.
2. Attach, on the one message the driver sends on fd 5: join the network
   namespace of the function version's workers if the message carries one,
   bind that function's package at ``/function`` (read-only), unmount ``/.packages``,
   remount the root read-only, drop the uid (and with it every capability),
   take the function's environment and hand over to the runtime agent.

What every worker's root has in common is built once, by the zygote in a
mount namespace of its own (``prepare_zygote``): a read-only tree with the
host's system directories, the runtime and ``/dev``. A worker's new mount
namespace starts as a copy of it, so a worker only mounts what is its own:
``/etc``, ``/tmp``, ``/dev/shm``, ``/proc`` and the packages (measured: a
fifth of a worker start went to mounting the common part again each time).
The zygote also empties the capability bounding set once for all of them.

No code but this module's runs before the attach is complete. In unsafe
development mode only the session, the working directory and the
descriptors are set up.
"""

from __future__ import annotations

import os
import resource
import select
import socket
import stat
from collections.abc import Callable
from typing import Any

from . import syscalls as sc
from . import wire

CHANNEL_FD = 3  # the worker's end of its socket pair with the driver
LIFELINE_FD = 4
ATTACH_FD = 5
PACKAGES = "/.packages"
_MAX_FD = 2**31 - 1
# Mount points the template root holds for each worker's own mounts.
_MOUNT_POINTS = ("/etc", "/tmp", "/proc", "/function", PACKAGES)

# The PID namespace is the zygote's doing: this process is its pid 1.
_NAMESPACES = sc.CLONE_NEWNS | sc.CLONE_NEWUTS | sc.CLONE_NEWIPC | sc.CLONE_NEWCGROUP
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


def enter(
    plan: dict[str, Any],
    fds: tuple[int, int, int],
    run: Runner,
    rehearse: Callable[[str], None] | None = None,
) -> None:
    """Never returns: the worker runs ``run(plan)`` and exits.

    ``fds`` are the channel to the driver, the lifeline and the attach socket.
    ``rehearse(directory)``: the runtime agent's own rehearsal of loading a
    function, run by an isolated worker before it waits for its function,
    with a writable scratch directory (its private ``/tmp``).
    """
    try:
        os.setsid()  # its own session and process group, killed as one in unsafe mode
        _arrange_fds(fds)
        for procs_file in plan["cgroup_procs"]:
            _write(procs_file, b"0")  # this process
        if plan["isolate"]:
            flags = _NAMESPACES | (sc.CLONE_NEWNET if plan["network"] == "own" else 0)
            sc.unshare(flags)
            _isolate(plan)
        if plan["isolate"] and rehearse is not None:
            _rehearse(rehearse)
        function, fds = _await_function()
        if plan["isolate"]:
            _join_network(plan, fds)
            _attach(plan, function["package"])
        else:
            for fd in fds:
                os.close(fd)
            os.chdir(function["package_dir"])
        os.environ.clear()
        os.environ.update(function["env"])
        plan = plan | function
    except BaseException as exc:  # reported to the driver, then exit
        _report_failure(f"sandbox setup failed: {type(exc).__name__}: {exc}")
    try:
        run(plan)
    finally:
        os._exit(0)


def _arrange_fds(fds: tuple[int, int, int]) -> None:
    """Keep only stdio, the channel (3), the lifeline (4) and the attach socket (5)."""
    parked = range(max(*fds, 5) + 1, max(*fds, 5) + 1 + len(fds))
    for fd, spot in zip(fds, parked, strict=True):
        os.dup2(fd, spot)
    # close_range(2) where the kernel has it: two calls, whatever the zygote holds.
    os.closerange(3, parked[0])
    os.closerange(parked[-1] + 1, _MAX_FD)
    for spot, fd in zip(parked, (CHANNEL_FD, LIFELINE_FD, ATTACH_FD), strict=True):
        os.dup2(spot, fd)
        os.close(spot)
    devnull = os.open("/dev/null", os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def _rehearse(rehearse: Callable[[str], None]) -> None:
    """Fault in, off the cold start's path, the pages loading a function writes."""
    try:
        rehearse("/tmp")
    except Exception:  # only a speed-up: the worker is as good without it
        pass


def _await_function() -> tuple[dict[str, Any], list[int]]:
    """The driver's attach message and the descriptors it carries; exit
    quietly when the driver or zygote goes away."""
    readable, _, _ = select.select([ATTACH_FD, LIFELINE_FD], [], [])
    if LIFELINE_FD in readable:
        os._exit(0)
    with socket.socket(fileno=ATTACH_FD) as channel:  # closed before any function code runs
        try:
            return wire.recv_with_fds(channel, 1 << 24, max_fds=1)
        except wire.ConnectionClosed:
            os._exit(0)


def _join_network(plan: dict[str, Any], fds: list[int]) -> None:
    """A function version's workers share one network namespace, loopback
    only, which the driver made (``orchestrator.local.networks``) and sends
    with the attach message: joining costs a system call, making one a
    tenth of a start."""
    for fd in fds:
        try:
            sc.setns(fd, sc.CLONE_NEWNET)
        finally:
            os.close(fd)
    if not fds and plan["network"] == "deferred":
        raise RuntimeError("the driver sent no network namespace to join")


def _report_failure(message: str) -> None:
    """Tell the driver, which waits for the worker's hello on the channel, then exit."""
    try:
        channel = socket.socket(fileno=CHANNEL_FD)
        channel.settimeout(10)
        wire.send(channel, {"ready": False, "error": message})
    finally:
        os._exit(1)


def prepare_zygote(plan: dict[str, Any]) -> None:
    """In the zygote, before its first isolated worker: the template root at
    ``plan["rootfs"]`` in a mount namespace of the zygote's own (gone with
    it and its workers, never seen by the host), and no capability any
    worker could regain by exec."""
    sc.drop_capability_bounding_set()
    sc.unshare(sc.CLONE_NEWNS)
    sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
    root = plan["rootfs"]
    sc.mount("tmpfs", root, "tmpfs", _BIND_FLAGS, "size=1m,mode=0755")
    for host_path, inside in plan["ro_mounts"]:
        if not inside.startswith("/etc/"):  # /etc is each worker's own
            _bind(host_path, root + inside)
    _bind(plan["runtime_dir"], root + "/opt/qinling/runtime")
    for point in _MOUNT_POINTS:
        os.makedirs(root + point, exist_ok=True)
    _make_dev(root)
    sc.mount(None, root, None, sc.MS_REMOUNT | sc.MS_RDONLY | _BIND_FLAGS)


def template_key(plan: dict[str, Any]) -> tuple:
    """What the template root is built from: the same for every worker of a zygote."""
    return (plan["rootfs"], str(plan["ro_mounts"]), plan["runtime_dir"])


def _isolate(plan: dict[str, Any]) -> None:
    sc.sethostname(plan["hostname"])
    if plan["network"] == "own":
        sc.loopback_up()
    root = plan["rootfs"]
    _bind(plan["packages_dir"], root + PACKAGES)
    _make_tmp(root, plan["tmp_size"])
    sc.mount("tmpfs", root + "/dev/shm", "tmpfs", _BIND_FLAGS, "size=1m,mode=1777")
    sc.mount("proc", root + "/proc", "proc", _BIND_FLAGS | sc.MS_NOEXEC)
    _make_etc(root, plan)
    os.chdir(root)
    sc.pivot_root(".", ".")
    sc.umount(".")
    os.chdir("/")
    _limit(plan)


def _attach(plan: dict[str, Any], package: str) -> None:
    source = f"{PACKAGES}/{package}"
    if package in ("", ".", "..") or "/" in package or not stat.S_ISDIR(os.lstat(source).st_mode):
        raise ValueError(f"no package directory {package!r}")
    sc.mount(source, "/function", None, sc.MS_BIND)
    sc.mount(None, "/function", None, sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY | _BIND_FLAGS)
    sc.umount(PACKAGES)  # its empty mount point stays, in the read-only template
    sc.mount(None, "/", None, sc.MS_REMOUNT | sc.MS_RDONLY | _BIND_FLAGS)
    _drop_uid(plan)
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
        _write(target)
    sc.mount(host_path, target, None, sc.MS_BIND | sc.MS_REC)
    sc.mount(None, target, None, sc.MS_REMOUNT | sc.MS_BIND | sc.MS_RDONLY | _BIND_FLAGS)


def _make_tmp(root: str, size: int) -> None:
    sc.mount("tmpfs", root + "/tmp", "tmpfs", _BIND_FLAGS, f"size={size},mode=1777")


def _make_dev(root: str) -> None:
    dev = root + "/dev"
    os.makedirs(dev)
    sc.mount("tmpfs", dev, "tmpfs", sc.MS_NOSUID, "size=64k,mode=0755")
    for name in _DEVICES:
        _write(f"{dev}/{name}")
        sc.mount(f"/dev/{name}", f"{dev}/{name}", None, sc.MS_BIND)
    os.symlink("/proc/self/fd", f"{dev}/fd")
    for fd, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink(f"/proc/self/fd/{fd}", f"{dev}/{name}")
    os.makedirs(dev + "/shm")  # each worker mounts its own
    sc.mount(None, dev, None, sc.MS_REMOUNT | sc.MS_RDONLY | sc.MS_NOSUID)


def _make_etc(root: str, plan: dict[str, Any]) -> None:
    """``/etc``: the worker's own users and host name, and the host's files it may read."""
    sc.mount("tmpfs", root + "/etc", "tmpfs", _BIND_FLAGS, "size=64k,mode=0755")
    for host_path, inside in plan["ro_mounts"]:
        if inside.startswith("/etc/"):
            _bind(host_path, root + inside)
    uid, gid = plan["uid"], plan["gid"]
    files = {
        "passwd": f"root:x:0:0::/:/bin/false\nsandbox:x:{uid}:{gid}::/tmp:/bin/false\n",
        "group": f"root:x:0:\nsandbox:x:{gid}:\n",
        "hosts": f"127.0.0.1 localhost {plan['hostname']}\n::1 localhost\n",
        "nsswitch.conf": "passwd: files\ngroup: files\nhosts: files dns\n",
    }
    for name, text in files.items():
        _write(f"{root}/etc/{name}", text.encode())
    sc.mount(None, root + "/etc", None, sc.MS_REMOUNT | sc.MS_RDONLY | _BIND_FLAGS)


def _write(path: str, data: bytes = b"") -> None:
    """Create or truncate ``path`` and write ``data``, with system calls
    alone: a text-mode ``open`` builds three io objects and looks up the
    locale's codec, and a forked worker pays for each page it writes with
    a copy-on-write fault."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
    try:
        if data:
            os.write(fd, data)
    finally:
        os.close(fd)


def _limit(plan: dict[str, Any]) -> None:
    """Rlimits (the bounding set is already empty: ``prepare_zygote``); the
    effective capabilities stay until attach."""
    for name, value in plan["rlimits"].items():
        resource.setrlimit(_RLIMITS[name], (value, value))


def _drop_uid(plan: dict[str, Any]) -> None:
    """Leaving uid 0 clears the permitted and effective capabilities."""
    os.setgroups([])
    os.setresgid(plan["gid"], plan["gid"], plan["gid"])
    os.setresuid(plan["uid"], plan["uid"], plan["uid"])
    sc.prctl(sc.PR_SET_NO_NEW_PRIVS, 1)
