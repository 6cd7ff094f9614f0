"""How many CPUs this process may use: its affinity, and its cgroup's CPU quota.

A container limited to 2 CPUs on a 64-core host sees 64 in its affinity
mask; sizing by that would start processes that only wait for each other.
The quota is the smallest on the way from the process's cgroup up to the
hierarchy's root: cgroup v2 ``cpu.max``, or v1 ``cpu.cfs_quota_us`` over
``cpu.cfs_period_us``.
"""

from __future__ import annotations

import math
import os

PROC_CGROUP = "/proc/self/cgroup"
PROC_MOUNTINFO = "/proc/self/mountinfo"


def usable(*, proc_cgroup: str = PROC_CGROUP, proc_mountinfo: str = PROC_MOUNTINFO) -> int:
    """CPUs this process may run on, bounded by its cgroup's quota (at least 1)."""
    cpus = len(os.sched_getaffinity(0))
    quota = cpu_quota(proc_cgroup=proc_cgroup, proc_mountinfo=proc_mountinfo)
    return cpus if quota is None else max(1, min(cpus, math.ceil(quota)))


def cpu_quota(
    *, proc_cgroup: str = PROC_CGROUP, proc_mountinfo: str = PROC_MOUNTINFO
) -> float | None:
    """CPUs' worth of time the process's cgroups allow; None: no limit found."""
    try:
        with open(proc_cgroup) as f:
            memberships = [line.rstrip("\n").split(":", 2) for line in f if line.count(":") >= 2]
        with open(proc_mountinfo) as f:
            mounts = [mount for mount in map(_mount, f) if mount is not None]
    except OSError:
        return None
    limits = []
    for _, controllers, path in memberships:
        for mount_root, mount_point, version in mounts:
            if version == _version_for(controllers):
                limits += _limits_on_path(mount_point, mount_root, path, version)
    return min(limits, default=None)


def _version_for(controllers: str) -> str | None:
    if controllers == "":
        return "v2"
    return "v1" if "cpu" in controllers.split(",") else None


def _mount(line: str) -> tuple[str, str, str] | None:
    """A cgroup mount that may hold CPU limits: (its root within the
    hierarchy, its mount point, 'v1' | 'v2'); None for any other line."""
    fields = line.split()
    try:
        separator = fields.index("-")
        fstype, options = fields[separator + 1], fields[separator + 3].split(",")
    except (ValueError, IndexError):
        return None
    if fstype == "cgroup2":
        return fields[3], fields[4], "v2"
    if fstype == "cgroup" and "cpu" in options:
        return fields[3], fields[4], "v1"
    return None


def _limits_on_path(mount_point: str, mount_root: str, path: str, version: str) -> list[float]:
    """The quota of each cgroup from ``path`` up to the mount's top."""
    relative = os.path.relpath(path, mount_root) if path.startswith(mount_root) else None
    if relative is None or relative.startswith(".."):
        return []
    directory = os.path.normpath(os.path.join(mount_point, relative))
    found = []
    while True:
        quota = _v2_quota(directory) if version == "v2" else _v1_quota(directory)
        if quota is not None:
            found.append(quota)
        if directory == mount_point or not directory.startswith(mount_point):
            return found
        directory = os.path.dirname(directory)


def _v2_quota(directory: str) -> float | None:
    """``cpu.max``: "max 100000" (no limit) or "<quota> <period>"."""
    quota, _, period = (_read(os.path.join(directory, "cpu.max")) or "max").partition(" ")
    return None if quota == "max" else _ratio(quota, period)


def _v1_quota(directory: str) -> float | None:
    """``cpu.cfs_quota_us`` is -1 where there is no limit."""
    quota = _read(os.path.join(directory, "cpu.cfs_quota_us")) or "-1"
    return _ratio(quota, _read(os.path.join(directory, "cpu.cfs_period_us")) or "")


def _ratio(quota: str, period: str) -> float | None:
    try:
        share = int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return None
    return share if share > 0 else None


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except (OSError, UnicodeDecodeError):
        return None
