"""Per-worker cgroups for memory, CPU and pids limits, on cgroup v1 or v2.

``detect`` finds where this process sits in each hierarchy (from
/proc/self/mountinfo and /proc/self/cgroup). The driver creates one
directory of its own below that (``qinling-<pid>-<n>``) and one per worker
below it, so ``stop`` can remove everything it made. v1 is used when the
memory, cpu and pids controllers are all mounted as v1 hierarchies (hybrid
hosts such as this one); otherwise v2 when its ``cgroup.controllers`` offers
them.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import signal
import time

from qinling import cgroup_mounts
from qinling.cgroup_mounts import Mount

REQUIRED = ("memory", "cpu", "pids")
CPU_PERIOD_US = 100_000


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where this process's cgroups are: ``dirs`` maps a controller (or
    ``"unified"`` on v2) to a directory."""

    version: int
    dirs: dict[str, str]

    def describe(self) -> str:
        return f"cgroup v{self.version} ({', '.join(sorted(set(self.dirs.values())))})"


def detect(
    mountinfo_path: str = cgroup_mounts.PROC_MOUNTINFO,
    cgroup_path: str = cgroup_mounts.PROC_CGROUP,
) -> Layout | None:
    """The usable layout, or None when the host has no usable cgroups."""
    found = cgroup_mounts.read(mountinfo_path, cgroup_path)
    if found is None:
        return None
    mounts, paths = found
    return _v1_layout(mounts, paths) or _v2_layout(mounts, paths)


def _v1_layout(mounts: list[Mount], paths: dict[str, str]) -> Layout | None:
    dirs = {}
    for controller in REQUIRED:
        for mount in mounts:
            if mount.fstype == "cgroup" and controller in mount.options and controller in paths:
                dirs[controller] = cgroup_mounts.join(mount, paths[controller])
                break
        else:
            return None
    return Layout(version=1, dirs=dirs)


def _v2_layout(mounts: list[Mount], paths: dict[str, str]) -> Layout | None:
    for mount in mounts:
        if mount.fstype != "cgroup2" or "" not in paths:
            continue
        directory = cgroup_mounts.join(mount, paths[""])
        try:
            with open(os.path.join(directory, "cgroup.controllers")) as f:
                available = set(f.read().split())
        except OSError:
            continue
        if set(REQUIRED) <= available:
            return Layout(version=2, dirs={"unified": directory})
    return None


def _write(path: str, value: str | int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)  # no buffering: one write(2)
    try:
        os.write(fd, str(value).encode())
    finally:
        os.close(fd)


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


def sweep_abandoned(layout: Layout) -> list[str]:
    """Remove the empty cgroups of drivers whose process is gone (``qinling-<pid>-<n>``).

    A driver killed with SIGKILL leaves its directories behind; its workers
    end with their zygote. Only empty directories are removed and nothing is
    killed: a pid that looks dead may be a live driver's in another PID
    namespace sharing this cgroup tree.
    """
    removed = []
    for base in set(layout.dirs.values()):
        for path in _subdirs(base):
            owner = _owner_pid(os.path.basename(path))
            if owner is None or process_exists(owner):
                continue
            children = [_try_rmdir(child) for child in _subdirs(path)]
            if all(children) and _try_rmdir(path):
                removed.append(path)
    return removed


def _owner_pid(name: str) -> int | None:
    prefix, _, rest = name.partition("-")
    pid, _, number = rest.partition("-")
    if prefix != "qinling" or not (pid.isdigit() and number.isdigit()):
        return None
    return int(pid)


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DriverCgroups:
    """The driver's own cgroup directories, parents of every worker's."""

    def __init__(self, layout: Layout, name: str) -> None:
        self.layout = layout
        self.dirs = {key: os.path.join(path, name) for key, path in layout.dirs.items()}

    def create(self) -> None:
        for path in set(self.dirs.values()):
            os.makedirs(path, exist_ok=True)
        if self.layout.version == 2:
            self._delegate_v2()

    def _delegate_v2(self) -> None:
        base = self.dirs["unified"]
        wanted = " ".join(f"+{name}" for name in REQUIRED)
        parent = os.path.dirname(base)
        enabled = set(_read(os.path.join(parent, "cgroup.subtree_control")).split())
        if not set(REQUIRED) <= enabled:
            _write(os.path.join(parent, "cgroup.subtree_control"), wanted)
        _write(os.path.join(base, "cgroup.subtree_control"), wanted)

    def worker(self, name: str) -> WorkerCgroup:
        return WorkerCgroup(
            self.layout.version, {k: os.path.join(p, name) for k, p in self.dirs.items()}
        )

    def remove(self) -> None:
        for path in set(self.dirs.values()):
            for child in _subdirs(path):
                _rmdir_when_empty(child)
            _rmdir_when_empty(path)


class WorkerCgroup:
    """One worker's cgroup (a directory per v1 hierarchy, or one on v2)."""

    def __init__(self, version: int, dirs: dict[str, str]) -> None:
        self.version = version
        self.dirs = dirs
        self.memory = 0
        self._peak_fd = -1

    def _file(self, controller: str, name: str) -> str:
        return os.path.join(self.dirs["unified" if self.version == 2 else controller], name)

    @property
    def procs_files(self) -> list[str]:
        return [os.path.join(path, "cgroup.procs") for path in sorted(set(self.dirs.values()))]

    def create(self, memory: int, pids: int) -> None:
        """Create with memory and pids limits; the CPU stays unlimited until
        ``limit_cpu``, so that starting an interpreter is not throttled."""
        for path in set(self.dirs.values()):
            os.mkdir(path, 0o755)
        if self.version == 1:
            _write(self._file("memory", "memory.limit_in_bytes"), memory)
            _try_write(self._file("memory", "memory.memsw.limit_in_bytes"), memory)
            _try_write(self._file("memory", "memory.swappiness"), 0)
        else:
            _write(self._file("memory", "memory.max"), memory)
            _try_write(self._file("memory", "memory.swap.max"), 0)
        _write(self._file("pids", "pids.max"), pids)
        if self.version == 1:
            _write(self._file("cpu", "cpu.cfs_period_us"), CPU_PERIOD_US)
        self.memory = memory

    def set_memory(self, memory: int) -> None:
        """Change the memory limit set by ``create``."""
        if memory == self.memory:
            return
        if self.version == 2:
            _write(self._file("memory", "memory.max"), memory)
        else:
            # v1 wants memory.limit_in_bytes <= memory.memsw.limit_in_bytes at all times.
            limit = self._file("memory", "memory.limit_in_bytes")
            with_swap = self._file("memory", "memory.memsw.limit_in_bytes")
            if memory > self.memory:
                _try_write(with_swap, memory)
                _write(limit, memory)
            else:
                _write(limit, memory)
                _try_write(with_swap, memory)
        self.memory = memory

    def limit_cpu(self, cpu_millis: int) -> None:
        quota = max(1000, cpu_millis * CPU_PERIOD_US // 1000)
        if self.version == 1:  # the period was set by ``create``
            _write(self._file("cpu", "cpu.cfs_quota_us"), quota)
        else:
            _write(self._file("cpu", "cpu.max"), f"{quota} {CPU_PERIOD_US}")

    def oom_file(self) -> str:
        """The file counting its OOM kills (``read_oom_kills``)."""
        return self._file("memory", "memory.oom_control" if self.version == 1 else "memory.events")

    def oom_kills(self) -> int:
        return read_oom_kills(self.oom_file())

    def peak_descriptor(self) -> int:
        """The memory peak file, opened once: it is reset and read around
        every execution, and opening a cgroup file costs more than reading it.
        -1 when it cannot be opened."""
        if self._peak_fd < 0:
            name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
            try:
                self._peak_fd = os.open(self._file("memory", name), os.O_RDWR | os.O_CLOEXEC)
            except OSError:
                return -1
        return self._peak_fd

    def memory_peak(self) -> int | None:
        return read_peak(self.peak_descriptor())

    def reset_memory_peak(self) -> None:
        reset_peak(self.peak_descriptor())

    def close(self) -> None:
        if self._peak_fd >= 0:
            os.close(self._peak_fd)
            self._peak_fd = -1

    def kill(self) -> None:
        """SIGKILL every process left in the cgroup."""
        if self.version == 2 and _try_write(self._file("pids", "cgroup.kill"), 1):
            return
        for procs in self.procs_files:
            for pid in _read_pids(procs):
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def remove(self, wait: float = 5.0) -> bool:
        """Remove the directories; True when none is left."""
        self.close()
        deadline = time.monotonic() + wait
        left = [p for p in set(self.dirs.values()) if os.path.isdir(p)]
        while left:
            left = [p for p in left if not _try_rmdir(p)]
            if not left or time.monotonic() > deadline:
                break
            self.kill()
            time.sleep(0.005)  # the kernel finishes exiting killed tasks
        return not left


def _subdirs(path: str) -> list[str]:
    try:
        return [e.path for e in os.scandir(path) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def read_oom_kills(path: str) -> int:
    """The OOM kills a cgroup's ``memory.oom_control`` (v1) or ``memory.events`` (v2) counts."""
    try:
        for line in _read(path).splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
    except (OSError, ValueError):
        pass
    return 0


def read_peak(peak_fd: int) -> int | None:
    """The memory peak in bytes, from an open peak file (``peak_descriptor``)."""
    try:
        return int(os.pread(peak_fd, 64, 0))
    except (OSError, ValueError):
        return None


def reset_peak(peak_fd: int) -> None:
    # v1 sets the peak to the current usage; v2 (6.12+) starts a new peak
    # for this open file description only, which is why the same one reads
    # it (a descriptor passed to another process shares it).
    try:
        os.pwrite(peak_fd, b"0", 0)
    except OSError:
        pass


def _read_pids(path: str) -> list[int]:
    try:
        return [int(line) for line in _read(path).split()]
    except OSError:
        return []


def _try_write(path: str, value: str | int) -> bool:
    try:
        _write(path, value)
    except OSError:
        return False
    return True


def _try_rmdir(path: str) -> bool:
    try:
        os.rmdir(path)
    except FileNotFoundError:
        return True
    except OSError as exc:
        if exc.errno in (errno.EBUSY, errno.ENOTEMPTY):
            return False
        raise
    return True


def _rmdir_when_empty(path: str) -> None:
    for pid in _read_pids(os.path.join(path, "cgroup.procs")):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    WorkerCgroup(1, {"x": path}).remove()
