"""Where this process sits in each cgroup hierarchy: /proc/self/mountinfo and
/proc/self/cgroup, read for the local orchestrator's worker cgroups
(``orchestrator.local.cgroups``) and for the CPU quota qinling-server sizes
itself to (``host_cpus``)."""

from __future__ import annotations

import dataclasses
import os

PROC_MOUNTINFO = "/proc/self/mountinfo"
PROC_CGROUP = "/proc/self/cgroup"


@dataclasses.dataclass(frozen=True)
class Mount:
    root: str
    mountpoint: str
    fstype: str
    options: frozenset[str]


def read(
    mountinfo_path: str = PROC_MOUNTINFO, cgroup_path: str = PROC_CGROUP
) -> tuple[list[Mount], dict[str, str]] | None:
    """The cgroup mounts and this process's cgroup paths; None if unreadable."""
    try:
        with open(mountinfo_path) as f:
            mounts = parse_mountinfo(f.read())
        with open(cgroup_path) as f:
            paths = parse_proc_cgroup(f.read())
    except OSError:
        return None
    return mounts, paths


def parse_mountinfo(text: str) -> list[Mount]:
    mounts = []
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        mounts.append(
            Mount(
                root=_unescape(fields[3]),
                mountpoint=_unescape(fields[4]),
                fstype=tail[0],
                options=frozenset(tail[2].split(",")),
            )
        )
    return mounts


def parse_proc_cgroup(text: str) -> dict[str, str]:
    """Map each v1 controller, and ``""`` for v2, to this process's cgroup path."""
    paths = {}
    for line in text.splitlines():
        _, controllers, path = line.split(":", 2)
        for name in controllers.split(",") if controllers else [""]:
            paths[name] = path
    return paths


def join(mount: Mount, path: str) -> str:
    """The directory of cgroup ``path`` under ``mount``."""
    relative = os.path.relpath(path, mount.root) if path.startswith(mount.root) else path
    relative = "" if relative == "." else relative.lstrip("/")
    return os.path.join(mount.mountpoint, relative).rstrip("/")


def _unescape(field: str) -> str:
    return field.replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")
