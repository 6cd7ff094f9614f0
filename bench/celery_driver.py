"""Drives the celery peer from its own venv; prints one JSON object.

``python celery_driver.py warm TASK N | load C SECONDS | async N | cold N WORKER_ARGV``
"""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import time


def _tasks():
    import celery_tasks

    return celery_tasks


def warm(task: str, count: int) -> dict:
    run = getattr(_tasks(), task)
    run.delay().get(timeout=60)
    samples = []
    for _ in range(count):
        began = time.perf_counter()
        run.delay().get(timeout=60)
        samples.append(time.perf_counter() - began)
    return {"samples": samples}


def _client(go, stop_at, ready, out) -> None:
    run = _tasks().trivial
    run.delay().get(timeout=60)
    ready.put(True)
    go.wait()
    latencies = []
    while time.time() < stop_at.value:
        began = time.perf_counter()
        run.delay().get(timeout=60)
        latencies.append(time.perf_counter() - began)
    out.put(latencies)


def load(concurrency: int, seconds: float) -> dict:
    """Closed loop; each client is a process (Celery's result waiting is per process)."""
    context = multiprocessing.get_context("spawn")
    go, ready, out = context.Event(), context.Queue(), context.Queue()
    stop_at = context.Value("d", 0.0)
    clients = [
        context.Process(target=_client, args=(go, stop_at, ready, out)) for _ in range(concurrency)
    ]
    for client in clients:
        client.start()
    for _ in clients:
        ready.get(timeout=120)  # every client imported, connected, and has run once
    began = time.time()
    stop_at.value = began + seconds
    go.set()
    merged = [x for _ in clients for x in out.get(timeout=seconds + 120)]
    elapsed = time.time() - began
    for client in clients:
        client.join()
    return {"rate": len(merged) / elapsed, "samples": merged}


def async_(count: int) -> dict:
    run = _tasks().trivial
    run.delay().get(timeout=60)
    began = time.perf_counter()
    results = [run.delay() for _ in range(count)]
    accepted = time.perf_counter() - began
    for result in results:
        result.get(timeout=300)
    return {"accepted_per_s": count / accepted, "all_final_s": time.perf_counter() - began}


def cold(count: int, worker_argv: list[str]) -> dict:
    """Worker process start to the first result of a task submitted before it."""
    run = _tasks().trivial
    samples = []
    for _ in range(count):
        pending = run.delay()
        began = time.perf_counter()
        worker = subprocess.Popen(worker_argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            pending.get(timeout=60)
            samples.append(time.perf_counter() - began)
        finally:
            worker.terminate()
            worker.wait()
    return {"samples": samples}


def clean() -> dict:
    client = _tasks().app.backend.client
    keys = list(client.scan_iter(match=_tasks().KEY_PREFIX + "*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])
    return {"deleted": len(keys)}


def main() -> None:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    command, args = sys.argv[1], sys.argv[2:]
    if command == "warm":
        result = warm(args[0], int(args[1]))
    elif command == "load":
        result = load(int(args[0]), float(args[1]))
    elif command == "async":
        result = async_(int(args[0]))
    elif command == "cold":
        result = cold(int(args[0]), args[1:])
    else:
        result = clean()
    print(json.dumps(result))


if __name__ == "__main__":
    main()
