"""What machine a run came from, and reading memory of processes."""

from __future__ import annotations

import os
import platform
import socket
import time


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


def _busy_and_total_ticks() -> tuple[int, int]:
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields) - idle, sum(fields)


def wait_until_quiet(busy_share: float = 0.1, window: float = 0.5, deadline: float = 30.0) -> float:
    """Wait until the host's CPUs were at most ``busy_share`` busy over a
    ``window``: the kernel tears a previous scenario's workers down after
    they exit (namespaces, cgroups), which would be counted against the
    next. Returns the seconds waited (``deadline`` at most)."""
    began = time.monotonic()
    while time.monotonic() - began < deadline:
        busy0, total0 = _busy_and_total_ticks()
        time.sleep(window)
        busy1, total1 = _busy_and_total_ticks()
        if total1 > total0 and (busy1 - busy0) / (total1 - total0) <= busy_share:
            break
    return time.monotonic() - began
