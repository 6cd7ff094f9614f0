"""Warm sync execution latency, one client, keep-alive connection."""

from __future__ import annotations

from collections.abc import Callable

from bench import peer_celery, peer_gcf, peer_lambda, qinling_server
from bench.http_client import time_calls, time_calls_interleaved
from bench.stats import Figure, latency

NAME = "warm"
NOTE = "1 client, keep-alive; Qinling and functions-framework both up, one call of each in turn"
FUNCTIONS = {"trivial": qinling_server.TRIVIAL, "sleep_10ms": qinling_server.SLEEP_10MS}


def qinling_caller(server: qinling_server.Qinling, source: str) -> Callable[[], object]:
    """One client calling a new function of ``source``, warmed up."""
    function_id = server.function(source)
    client = server.client()
    time_calls(lambda: server.execute(client, function_id), 20)
    return lambda: server.execute(client, function_id)


def qinling_warm(server: qinling_server.Qinling, source: str, count: int) -> list[float]:
    return time_calls(qinling_caller(server, source), count)


def run(scale: float) -> list[Figure]:
    counts = {"trivial": int(2000 * scale), "sleep_10ms": int(500 * scale)}
    values: dict[str, dict[str, dict]] = {name: {} for name in FUNCTIONS}
    with qinling_server.all_in_one() as server:
        for name, source in FUNCTIONS.items():
            # Both up, one call of each in turn: the VM's drift slows them alike.
            with peer_gcf.warm(name) as gcf:
                peer = gcf.caller()
                time_calls(peer, 20)
                ours, theirs = time_calls_interleaved(
                    [qinling_caller(server, source), peer], counts[name]
                )
            values[name]["qinling"] = latency(ours)
            values[name][peer_gcf.NAME] = latency(theirs)
    for name in FUNCTIONS:
        with peer_lambda.running(name) as aws:
            call = aws.caller()
            time_calls(call, 20)
            values[name][peer_lambda.NAME] = latency(time_calls(call, counts[name]))
    with peer_celery.running() as celery, celery.worker():
        for name in FUNCTIONS:
            samples = celery.drive("warm", name, counts[name])["samples"]
            values[name][peer_celery.NAME] = latency(samples)
    return [
        Figure(NAME, f"warm sync, {name}", "ms", True, values[name], NOTE) for name in FUNCTIONS
    ]
