"""Warm and cold in split mode: qinling-api + qinling-engine over RabbitMQ and PostgreSQL."""

from __future__ import annotations

from bench import qinling_server
from bench.scenario_cold import qinling_cold
from bench.scenario_warm import qinling_warm
from bench.stats import Figure, latency

NAME = "split"


def run(scale: float) -> list[Figure]:
    with qinling_server.split() as server:
        warm = latency(qinling_warm(server, qinling_server.TRIVIAL, int(1000 * scale)))
        cold = latency(qinling_cold(server, int(40 * scale)))
    with qinling_server.split({"engine": {"run_queue": False}}) as server:
        over_rpc = latency(qinling_warm(server, qinling_server.TRIVIAL, int(1000 * scale)))
    with qinling_server.split(data_socket=True) as server:
        direct = latency(qinling_warm(server, qinling_server.TRIVIAL, int(1000 * scale)))
    note = (
        "qinling-api + qinling-engine, RabbitMQ vhost and PostgreSQL database of the bench's "
        "own; sync executions over the engines' run queue on RabbitMQ ([engine] run_queue, "
        "the default), the rest over oslo.messaging RPC"
    )
    rpc_note = (
        "the same, with [engine] run_queue = false: sync executions as oslo.messaging calls, "
        "for comparison"
    )
    direct_note = (
        "the same, with [engine] data_socket set for both (one host): sync executions go "
        "from qinling-api to the engine over its Unix socket, the rest over RabbitMQ"
    )
    return [
        Figure(NAME, "split: warm sync, trivial", "ms", True, {"qinling": warm}, note),
        Figure(NAME, "split: cold start", "ms", True, {"qinling": cold}, note),
        Figure(
            NAME, "split, RPC only: warm sync, trivial", "ms", True, {"qinling": over_rpc}, rpc_note
        ),
        Figure(
            NAME,
            "split, data socket: warm sync, trivial",
            "ms",
            True,
            {"qinling": direct},
            direct_note,
        ),
    ]
