"""Profiles of Qinling's warm and cold paths with py-spy, and where the time goes."""

from __future__ import annotations

import collections
import contextlib
import os
import re
import time

from bench import processes, qinling_server, venvs
from bench.stats import Figure

NAME = "profile"
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
_LINE = re.compile(r":\d+\)$")


def _record(server: qinling_server.Qinling, label: str, seconds: float, drive) -> str:
    """Drive the server while py-spy samples it; the raw (collapsed) profile's path."""
    output = os.path.join(RESULTS, f"profile-{label}.txt")
    argv = [
        os.path.join(venvs.ensure("tools"), "py-spy"),
        "record",
        "--pid",
        str(server.server_pid),
        "--format",
        "raw",
        "--rate",
        "250",
        "--nonblocking",
        "--duration",
        str(int(seconds)),
        "--output",
        output,
    ]
    log = os.path.join(RESULTS, f"py-spy-{label}.log")
    with contextlib.suppress(FileNotFoundError):
        os.unlink(log)  # this run's alone: Service appends
    spy = processes.Service(argv, log)
    time.sleep(1.0)  # attached
    end = time.monotonic() + seconds - 1.5
    while time.monotonic() < end and spy.process.poll() is None:
        drive()
    spy.process.wait(timeout=60)
    spy.stop()
    return output


def summarize(path: str, top: int = 14) -> str:
    """Inclusive and self shares of functions (line numbers folded) in a raw profile."""
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    total = 0
    with open(path) as f:
        for line in f:
            stack, _, count = line.rstrip().rpartition(" ")
            if not stack:
                continue
            frames = [_LINE.sub(")", frame) for frame in stack.split(";")]
            total += int(count)
            for frame in set(frames):
                inclusive[frame] += int(count)
            own[frames[-1]] += int(count)
    if not total:
        return "no samples\n"
    lines = [f"{total} samples (active threads only)", "", "inclusive:"]
    lines += [f"  {n * 100 / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    ours = [(f, n) for f, n in inclusive.most_common() if "(qinling/" in f][:top]
    lines += ["", "inclusive, Qinling's own functions:"]
    lines += [f"  {n * 100 / total:5.1f}%  {frame}" for frame, n in ours]
    lines += ["", "self:"]
    lines += [f"  {n * 100 / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    return "\n".join(lines) + "\n"


def run(scale: float) -> list[Figure]:
    seconds = max(4.0, 10.0 * scale)
    summaries = {}
    # One process serves and runs everything, so that one py-spy sees all of it.
    with qinling_server.all_in_one({"api": {"processes": 1}}) as server:
        client = server.client()
        warm_id = server.function()
        server.execute(client, warm_id)
        path = _record(server, "warm", seconds, lambda: server.execute(client, warm_id))
        summaries["warm"] = summarize(path)
        fresh = [server.function() for _ in range(int(seconds * 40))]

        def cold_one() -> None:
            if fresh:
                server.execute(client, fresh.pop())
            else:
                time.sleep(0.1)

        path = _record(server, "cold", seconds, cold_one)
        summaries["cold"] = summarize(path)
    with open(os.path.join(RESULTS, "profile-summary.txt"), "w") as f:
        for label, text in summaries.items():
            heading = f"{label} path (qinling-server, [api] processes = 1, py-spy raw, 250 Hz)"
            f.write(f"== {heading} ==\n{text}\n")
    return []
