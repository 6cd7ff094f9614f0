"""Sync throughput of a trivial function at client concurrency 1, 8 and 32."""

from __future__ import annotations

import contextlib

from bench import peer_celery, peer_gcf, peer_lambda, qinling_server
from bench.http_client import run_load, run_loads_interleaved
from bench.stats import Figure, rate
from qinling import host_cpus
from qinling.conf.api import AUTO_PROCESSES, process_count

NAME = "throughput"
LEVELS = (1, 8, 32)
LAMBDA_ENVIRONMENTS = 8  # Lambda runs one environment per concurrent request; capped here


# Turns Qinling and functions-framework take at each level, one after the other.
ROUNDS = 4


def _qinling_caller(server: qinling_server.Qinling):
    """``make_call`` for ``run_load``: each caller on a connection of its own."""
    function_id = server.function(concurrency=max(LEVELS))

    def make_call():
        client = server.client()
        return lambda: server.execute(client, function_id)

    return make_call


def _qinling_processes(
    seconds: float, counts: tuple[int, ...] = (1, 2), levels: tuple[int, ...] = (8, 32)
) -> dict[int, dict[int, dict]]:
    """qinling-server with ``[api] processes`` = each of ``counts``, all up
    with one as configured by default and taking turns with it at each
    level (as ``_qinling_and_gcf``): each line's ``x_default`` is its rate
    over the default's, measured in the same turns."""
    found: dict[int, dict[int, dict]] = {count: {} for count in counts}
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(qinling_server.all_in_one())] + [
            stack.enter_context(qinling_server.all_in_one({"api": {"processes": count}}))
            for count in counts
        ]
        make_calls = [_qinling_caller(server) for server in servers]
        for level in levels:
            default, *others = run_loads_interleaved(
                make_calls, level, seconds, ROUNDS, warm_up=0.5
            )
            for count, (value, samples, errors) in zip(counts, others, strict=True):
                versus = round(value / default[0], 3) if default[0] else None
                found[count][level] = rate(value, samples, errors=errors, x_default=versus)
    return found


def _qinling_and_gcf(seconds: float) -> tuple[dict[int, dict], dict[int, dict]]:
    """Qinling as configured by default and functions-framework, both up,
    taking turns at each level: this VM's speed drifts within a run (by 40%
    in some), which would tilt the ratio of two measured one after the other."""
    ours, theirs = {}, {}
    with qinling_server.all_in_one() as server, peer_gcf.warm() as gcf:
        make_call = _qinling_caller(server)
        for level in LEVELS:
            found = run_loads_interleaved(
                [make_call, gcf.caller], level, seconds, ROUNDS, warm_up=0.5
            )
            (value, samples, errors), (peer, peer_samples, peer_errors) = found
            ours[level] = rate(value, samples, errors=errors)
            theirs[level] = rate(peer, peer_samples, errors=peer_errors)
    return ours, theirs


def _lambda(seconds: float) -> dict[int, dict]:
    found = {}
    for level in LEVELS:
        with peer_lambda.running(environments=min(level, LAMBDA_ENVIRONMENTS)) as aws:
            found[level] = _measured(aws.caller, level, seconds)
    return found


def _measured(make_call, level: int, seconds: float) -> dict:
    run_load(make_call, level, 0.3)
    value, samples, errors = run_load(make_call, level, seconds)
    return rate(value, samples, errors=errors)


def _celery(seconds: float) -> dict[int, dict]:
    with peer_celery.running() as celery, celery.worker():
        return {level: rate(**_unpack(celery.drive("load", level, seconds))) for level in LEVELS}


def _unpack(result: dict) -> dict:
    return {"value": result["rate"], "samples": result["samples"]}


def run(scale: float) -> list[Figure]:
    seconds = max(1.0, 4.0 * scale)
    ours, gcf = _qinling_and_gcf(seconds)
    measured = {
        "qinling": ours,
        peer_gcf.NAME: gcf,
        peer_lambda.NAME: _lambda(seconds),
        peer_celery.NAME: _celery(seconds),
    }
    note = (
        f"closed loop, {seconds:g} s per level, client threads in the bench process "
        f"(celery: client processes); Qinling and functions-framework both up, taking "
        f"{ROUNDS} turns each at each level; awslambdaric with min(concurrency, "
        f"{LAMBDA_ENVIRONMENTS}) runtime processes; the client shares the 2 cores; "
        f"qinling-server as configured by default: [api] processes = 0, sized to the host "
        f"({process_count(AUTO_PROCESSES, host_cpus.usable())} processes here)"
    )
    others = _qinling_processes(seconds)
    figures = [
        Figure(
            NAME,
            f"sync throughput, concurrency {level}",
            "req/s",
            False,
            {system: found[level] for system, found in measured.items()},
            note,
        )
        for level in LEVELS
    ]
    return figures + [
        Figure(
            NAME,
            f"sync throughput, concurrency {level}, [api] processes = {count}",
            "req/s",
            False,
            {"qinling": found[level]},
            _processes_note(count),
        )
        for count, found in others.items()
        for level in (8, 32)
    ]


def _processes_note(count: int) -> str:
    turns = (
        f"; up with one as configured by default, taking {ROUNDS} turns each at each "
        "level: x_default is the rate over the default's in the same turns"
    )
    if count == 1:
        return "qinling-server with the API in the engine's process only" + turns
    return (
        f"qinling-server with {count - 1} more API processes, which borrow warm workers "
        "from the engine (worker leases) or reach it over its data socket" + turns
    )
