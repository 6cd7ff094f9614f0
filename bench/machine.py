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


# A fixed amount of work, timed at the start and the end of a run (``speed``).
SPEED_LOOP = 1_000_000
SPEED_ROUND_TRIPS = 2_000


def speed() -> dict[str, float]:
    """How fast the machine runs at the moment, for comparing runs.

    These VMs change speed by the hour, by up to two times, and wake-ups
    (what a server's request does several times) change most. So: the best
    of three times of a fixed Python loop (ms), and the median round trip
    between two processes over pipes (us).
    """
    return {"python_loop_ms": _loop_ms(), "round_trip_us": _round_trip_us()}


def _loop_ms() -> float:
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        total = 0
        for number in range(SPEED_LOOP):
            total += number
        best = min(best, time.perf_counter() - began)
    return round(best * 1000, 1)


def _round_trip_us() -> float:
    """One byte to a child process and back, over two pipes."""
    child_reads, parent_writes = os.pipe()
    parent_reads, child_writes = os.pipe()
    child = os.fork()
    if child == 0:  # echoes every byte until the pipe closes
        os.close(parent_writes)
        os.close(parent_reads)
        while os.read(child_reads, 1):
            os.write(child_writes, b".")
        os._exit(0)
    os.close(child_reads)
    os.close(child_writes)
    samples = []
    try:
        for _ in range(SPEED_ROUND_TRIPS):
            began = time.perf_counter()
            os.write(parent_writes, b".")
            os.read(parent_reads, 1)
            samples.append(time.perf_counter() - began)
    finally:
        os.close(parent_writes)
        os.close(parent_reads)
        os.waitpid(child, 0)
    return round(sorted(samples)[len(samples) // 2] * 1_000_000, 1)


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
