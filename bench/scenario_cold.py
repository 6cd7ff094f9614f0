"""Cold start: a new function's first execution, request to result."""

from __future__ import annotations

from bench import peer_celery, peer_gcf, peer_lambda, qinling_server
from bench.http_client import time_calls
from bench.stats import Figure, latency

NAME = "cold"


def qinling_cold(server: qinling_server.Qinling, count: int) -> list[float]:
    """Each function is created first, outside the timing."""
    client = server.client()
    functions = [server.function() for _ in range(count)]
    pending = iter(functions)
    samples = time_calls(lambda: server.execute(client, next(pending)), count)
    for function_id in functions:
        server.delete_function(function_id)
    return samples


def run(scale: float) -> list[Figure]:
    with qinling_server.all_in_one() as server:
        ours = latency(qinling_cold(server, int(60 * scale)))
    with peer_celery.running() as celery:
        celery_cold = latency(celery.cold_starts(max(2, int(4 * scale))))
    values = {
        "qinling": ours,
        peer_gcf.NAME: latency(peer_gcf.cold_starts(max(2, int(6 * scale)))),
        peer_lambda.NAME: latency(peer_lambda.cold_starts(int(20 * scale))),
        peer_celery.NAME: celery_cold,
    }
    note = (
        "Qinling: POST /v1/executions (sync) of a function never run before (zygote fork, "
        "namespaces, cgroups, uid drop, import), request to result. Peers: process start "
        "to first answer (celery: worker start to the result of a task queued before it)."
    )
    return [Figure(NAME, "cold start", "ms", True, values, note)]
