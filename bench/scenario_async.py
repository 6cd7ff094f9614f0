"""Async executions: accepted per second, and the time until all N are final."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from bench import peer_celery, peer_lambda, processes, qinling_server
from bench.stats import Figure, failed, rate

NAME = "async"
SUBMITTERS = 8


def submit_all(make_call: Callable[[], Callable[[], object]], count: int) -> float:
    """Seconds ``SUBMITTERS`` client threads take to have ``count`` calls accepted."""
    callers = [make_call() for _ in range(SUBMITTERS)]
    shares = [count // SUBMITTERS + (i < count % SUBMITTERS) for i in range(SUBMITTERS)]

    def submit(call: Callable[[], object], share: int) -> None:
        for _ in range(share):
            call()

    pairs = zip(callers, shares, strict=True)
    threads = [threading.Thread(target=submit, args=pair) for pair in pairs]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - began


def _qinling(count: int) -> tuple[dict, dict]:
    with qinling_server.all_in_one() as server:
        function_id = server.function(concurrency=10)
        server.execute(server.client(), function_id)

        def make_call():
            client = server.client()
            return lambda: server.execute(client, function_id, sync=False)

        began = time.perf_counter()
        accepted = submit_all(make_call, count)
        query = f"/v1/executions?function_id={function_id}&status=running&limit=1"
        processes.wait_for(
            lambda: not server.api.request("GET", query)["executions"], 600, "async executions"
        )
        final = time.perf_counter() - began
        listed = f"/v1/executions?function_id={function_id}&sync=false&limit={count}"
        done = server.api.request("GET", listed)  # not the sync warm-up
        ok = sum(r["status"] == "success" for r in done["executions"])
    return rate(count / accepted), rate(final, succeeded=ok)


def _lambda(count: int) -> tuple[dict, dict]:
    with peer_lambda.running(environments=2) as aws:
        began = time.perf_counter()
        accepted = submit_all(lambda: aws.caller(event=True), count)
        processes.wait_for(lambda: aws.pending() == 0, 600, "Lambda event invocations")
        return rate(count / accepted), rate(time.perf_counter() - began)


def _celery(count: int) -> tuple[dict, dict]:
    with peer_celery.running() as celery, celery.worker():
        result = celery.drive("async", count)
    return rate(result["accepted_per_s"]), rate(result["all_final_s"])


def run(scale: float) -> list[Figure]:
    count = int(1000 * scale)
    accepted, final = {}, {}
    for system, measure in (
        ("qinling", _qinling),
        (peer_lambda.NAME, _lambda),
        (peer_celery.NAME, _celery),
    ):
        accepted[system], final[system] = measure(count)
    accepted["functions-framework"] = final["functions-framework"] = failed("no async")
    note = (
        f"{count} executions of a trivial function; Qinling and awslambdaric (2 runtime "
        f"processes) by {SUBMITTERS} client threads, celery by delay() from one thread"
    )
    return [
        Figure(NAME, f"async accepted ({count})", "exec/s", False, accepted, note),
        Figure(NAME, f"async, all {count} final", "s", True, final, note),
    ]
