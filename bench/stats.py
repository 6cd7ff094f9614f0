"""Figures: what each scenario measured, for each system."""

from __future__ import annotations

import dataclasses
import statistics
from typing import Any


def latency(samples: list[float]) -> dict[str, Any]:
    """p50 and p99 in milliseconds of samples in seconds."""
    if not samples:
        return {"error": "no samples"}
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return {"p50": statistics.median(ordered) * 1000, "p99": p99 * 1000, "n": len(ordered)}


def rate(value: float, samples: list[float] | None = None, **extra: Any) -> dict[str, Any]:
    """A rate (per second), with the latency of its requests when known."""
    result: dict[str, Any] = {"value": value, **extra}
    if samples:
        result |= latency(samples)
    return result


def failed(reason: str) -> dict[str, Any]:
    return {"error": reason}


@dataclasses.dataclass
class Figure:
    scenario: str
    name: str
    unit: str  # "ms" for latencies, else the unit of "value"
    lower_is_better: bool
    values: dict[str, dict[str, Any]]  # system -> stats
    note: str = ""

    def headline(self, system: str) -> float | None:
        stats = self.values.get(system) or {}
        return stats.get("value", stats.get("p50"))
