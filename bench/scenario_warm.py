"""Warm sync execution latency, one client, keep-alive connection."""

from __future__ import annotations

from bench import peer_celery, peer_gcf, peer_lambda, qinling_server
from bench.http_client import time_calls
from bench.stats import Figure, latency

NAME = "warm"
FUNCTIONS = {"trivial": qinling_server.TRIVIAL, "sleep_10ms": qinling_server.SLEEP_10MS}


def qinling_warm(server: qinling_server.Qinling, source: str, count: int) -> list[float]:
    function_id = server.function(source)
    client = server.client()
    time_calls(lambda: server.execute(client, function_id), 20)  # warm up
    return time_calls(lambda: server.execute(client, function_id), count)


def run(scale: float) -> list[Figure]:
    counts = {"trivial": int(2000 * scale), "sleep_10ms": int(500 * scale)}
    values: dict[str, dict[str, dict]] = {name: {} for name in FUNCTIONS}
    with qinling_server.all_in_one() as server:
        for name, source in FUNCTIONS.items():
            values[name]["qinling"] = latency(qinling_warm(server, source, counts[name]))
    for name in FUNCTIONS:
        with peer_gcf.warm(name) as gcf:
            call = gcf.caller()
            time_calls(call, 20)
            values[name][peer_gcf.NAME] = latency(time_calls(call, counts[name]))
        with peer_lambda.running(name) as aws:
            call = aws.caller()
            time_calls(call, 20)
            values[name][peer_lambda.NAME] = latency(time_calls(call, counts[name]))
    with peer_celery.running() as celery, celery.worker():
        for name in FUNCTIONS:
            samples = celery.drive("warm", name, counts[name])["samples"]
            values[name][peer_celery.NAME] = latency(samples)
    return [
        Figure(NAME, f"warm sync, {name}", "ms", True, values[name], "1 client, keep-alive")
        for name in FUNCTIONS
    ]
