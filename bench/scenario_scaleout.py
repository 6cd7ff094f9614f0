"""Scale-out: workers started per second from zero."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from bench import machine, qinling_server
from bench.stats import Figure, rate

NAME = "scaleout"
BURST = 64
HOLD = 0.2
# Each figure is the median of this many rounds, each from zero on a new
# function: one round's rate moved by 2x between runs on this VM.
ROUNDS = 5
HOLDING = f"import time\n\n\ndef main(**kwargs):\n    time.sleep({HOLD})\n    return 'ok'\n"


def _burst(server: qinling_server.Qinling, source: str = qinling_server.TRIVIAL, hold=0.0) -> dict:
    """BURST clients each send one sync execution at once to a function with no
    worker. ``hold``: how long the function keeps its worker, taken off the time
    (a trivial function frees its worker at once, so few are needed)."""
    function_id = server.function(source, concurrency=BURST)
    clients = [server.client() for _ in range(BURST)]
    for client in clients:
        client.request("GET", "/")  # connections open before the burst
    gate = threading.Barrier(BURST + 1)
    errors: list[str] = []

    def one(client) -> None:
        gate.wait()
        try:
            server.execute(client, function_id)
        except Exception as exc:
            errors.append(str(exc)[:200])

    threads = [threading.Thread(target=one, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    gate.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - began - hold
    started = len(server.workers(function_id))
    server.delete_function(function_id)
    if hold:
        found = rate(started / took, workers=started, seconds=took)
    else:  # few workers suffice: the figure is how soon all results are in
        found = rate(took, workers=started)
    if errors:
        found |= {"errors": len(errors), "first_error": errors[0]}
    return found


def _scale_up(server: qinling_server.Qinling, count: int) -> dict:
    function_id = server.function(concurrency=count)
    began = time.perf_counter()
    server.scale_up(function_id, count)
    took = time.perf_counter() - began
    started = len(server.workers(function_id))
    server.delete_function(function_id)
    return rate(started / took, workers=started, seconds=took)


def _median_of(rounds: int, measure: Callable[[], dict]) -> dict:
    """The round with the median value, and the range of all rounds' values."""
    found = []
    for _ in range(rounds):
        machine.wait_until_quiet()  # the last round's workers torn down
        found.append(measure())
    values = [round_["value"] for round_ in found]
    middle = sorted(found, key=lambda round_: round_["value"])[len(found) // 2]
    return middle | {"median_of": rounds, "min": min(values), "max": max(values)}


def run(scale: float) -> list[Figure]:
    rounds = max(1, round(ROUNDS * min(scale, 1.0)))
    with qinling_server.all_in_one() as server:
        burst = _median_of(rounds, lambda: _burst(server))
        held = _median_of(rounds, lambda: _burst(server, HOLDING, HOLD))
        scaled = _median_of(rounds, lambda: _scale_up(server, 100))
    return [
        Figure(
            NAME,
            f"burst of {BURST} sync executions of a function with no worker, all results",
            "s",
            True,
            {"qinling": burst},
            "a trivial function frees its worker at once: workers = those that exist after "
            "the burst (a worker-start rate would reward a slower burst)",
        ),
        Figure(
            NAME,
            f"workers started/s, burst of {BURST} sync executions holding their worker",
            "workers/s",
            False,
            {"qinling": held},
            f"each execution sleeps {HOLD * 1000:.0f} ms, so the burst needs {BURST} workers; "
            f"workers after the burst / (time to all results - {HOLD * 1000:.0f} ms)",
        ),
        Figure(
            NAME,
            "workers started/s, scale_up count=100",
            "workers/s",
            False,
            {"qinling": scaled},
            "one POST scale_up, request to response",
        ),
    ]
