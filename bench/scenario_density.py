"""Density: warm workers held, their memory, and the host's, at 100, 500 and 2,000."""

from __future__ import annotations

import statistics
import time

from bench import machine, qinling_server
from bench.stats import Figure, failed, rate

NAME = "density"
LEVELS = (100, 500, 2000)
FUNCTIONS = 100  # the workers are spread over this many functions
UID_START, UID_SIZE = 2000000, 65536  # [sandbox] uid_range_start / uid_range_size defaults
OVERRIDES = {"sandbox": {"max_workers": max(LEVELS) + 100}}


def _workers_memory() -> tuple[int, float, float]:
    measured = [machine.uss_pss_kib(pid) for pid in machine.pids_with_uid_in(UID_START, UID_SIZE)]
    found = [m for m in measured if m]
    if not found:
        return 0, 0.0, 0.0
    uss = statistics.mean(m[0] for m in found) / 1024
    pss = statistics.mean(m[1] for m in found) / 1024
    return len(found), uss, pss


def run(scale: float) -> list[Figure]:
    levels = LEVELS if scale >= 1 else (100,)
    figures = []
    with qinling_server.all_in_one(OVERRIDES) as server:
        per_function = max(LEVELS) // FUNCTIONS
        functions = [server.function(concurrency=per_function) for _ in range(FUNCTIONS)]
        idle_host = machine.host_used_mib()
        held = 0
        for level in levels:
            each = level // FUNCTIONS
            began = time.perf_counter()
            try:
                for function_id in functions:
                    server.scale_up(function_id, each - held // FUNCTIONS)
            except Exception as exc:  # record why, and what was reached
                figures.append(_figure(level, failed(f"scale_up stopped: {exc}"[:300])))
                break
            took = time.perf_counter() - began
            held = level
            time.sleep(1.0)  # let page faults of the start settle
            count, uss, pss = _workers_memory()
            host = machine.host_used_mib()
            stats = rate(
                count,
                workers=count,
                uss_mib=uss,
                pss_mib=pss,
                host_used_mib=host,
                host_delta_mib=host - idle_host,
                scale_up_s=took,
            )
            figures.append(_figure(level, stats))
    return figures


def _figure(level: int, stats: dict) -> Figure:
    note = (
        f"Qinling only: {FUNCTIONS} functions scaled up with POST /v1/functions/{{id}}/scale_up; "
        "USS/PSS averaged over worker processes (found by their uid) from smaps_rollup; "
        "host used = MemTotal - MemAvailable, delta from the idle server"
    )
    return Figure(
        NAME, f"warm workers held (target {level})", "workers", False, {"qinling": stats}, note
    )
