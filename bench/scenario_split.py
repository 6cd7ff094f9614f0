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
    note = "qinling-api + qinling-engine, RabbitMQ vhost and PostgreSQL database of the bench's own"
    return [
        Figure(NAME, "split: warm sync, trivial", "ms", True, {"qinling": warm}, note),
        Figure(NAME, "split: cold start", "ms", True, {"qinling": cold}, note),
    ]
