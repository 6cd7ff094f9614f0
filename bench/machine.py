"""What machine a run came from, and reading memory of processes."""

from __future__ import annotations

import os
import platform
import socket


def describe() -> dict[str, object]:
    return {
        "host": socket.gethostname(),
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_mib": meminfo()["MemTotal"] // 1024,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


def _cpu_model() -> str:
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.machine()


def meminfo() -> dict[str, int]:
    """/proc/meminfo in KiB."""
    values = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, _, rest = line.partition(":")
            values[key] = int(rest.split()[0])
    return values


def host_used_mib() -> float:
    info = meminfo()
    return (info["MemTotal"] - info["MemAvailable"]) / 1024


def pids_with_uid_in(start: int, size: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            uid = os.stat(f"/proc/{entry}").st_uid
        except OSError:
            continue
        if start <= uid < start + size:
            found.append(int(entry))
    return found


def uss_pss_kib(pid: int) -> tuple[int, int] | None:
    """Private (USS) and proportional (PSS) memory of a process, from smaps_rollup."""
    fields = {}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                key, _, rest = line.partition(":")
                if key in ("Pss", "Private_Clean", "Private_Dirty"):
                    fields[key] = int(rest.split()[0])
    except OSError:
        return None
    return fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0), fields.get("Pss", 0)
