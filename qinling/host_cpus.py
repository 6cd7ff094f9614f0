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
from collections.abc import Callable

from qinling import cgroup_mounts


def usable(
    *,
    proc_cgroup: str = cgroup_mounts.PROC_CGROUP,
    proc_mountinfo: str = cgroup_mounts.PROC_MOUNTINFO,
) -> int:
    """CPUs this process may run on, bounded by its cgroup's quota (at least 1)."""
    cpus = len(os.sched_getaffinity(0))
    quota = cpu_quota(proc_cgroup=proc_cgroup, proc_mountinfo=proc_mountinfo)
    return cpus if quota is None else max(1, min(cpus, math.ceil(quota)))


def cpu_quota(
    *,
    proc_cgroup: str = cgroup_mounts.PROC_CGROUP,
    proc_mountinfo: str = cgroup_mounts.PROC_MOUNTINFO,
) -> float | None:
    """CPUs' worth of time the process's cgroups allow; None: no limit found."""
    try:
        found = cgroup_mounts.read(proc_mountinfo, proc_cgroup)
    except ValueError:  # a line of /proc/self/cgroup it cannot read
        return None
    if found is None:
        return None
    mounts, paths = found
    limits: list[float] = []
    for mount in mounts:
        if mount.fstype == "cgroup2" and "" in paths:
            limits += _limits_up(mount, paths[""], _v2_quota)
        elif mount.fstype == "cgroup" and "cpu" in mount.options and "cpu" in paths:
            limits += _limits_up(mount, paths["cpu"], _v1_quota)
    return min(limits, default=None)


def _limits_up(
    mount: cgroup_mounts.Mount, path: str, quota_in: Callable[[str], float | None]
) -> list[float]:
    """The quota of each cgroup from ``path`` up to the mount's top."""
    directory = cgroup_mounts.join(mount, path)
    found = []
    while directory.startswith(mount.mountpoint):
        quota = quota_in(directory)
        if quota is not None:
            found.append(quota)
        if directory == mount.mountpoint:
            break
        directory = os.path.dirname(directory)
    return found


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
