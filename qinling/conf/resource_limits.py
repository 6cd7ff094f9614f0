from __future__ import annotations

from oslo_config import cfg

GROUP = "resource_limits"


def _limit(name: str, default: int, what: str) -> cfg.IntOpt:
    return cfg.IntOpt(name, default=default, min=1, help=what)


OPTS = [
    _limit("default_cpu", 100, "CPU of a function that asks for none, in millicpu."),
    _limit("min_cpu", 100, "Smallest CPU a function may ask for, in millicpu."),
    _limit("max_cpu", 2000, "Largest CPU a function may ask for, in millicpu."),
    _limit("default_memory", 33554432, "Memory of a function that asks for none, in bytes."),
    _limit("min_memory", 33554432, "Smallest memory a function may ask for, in bytes."),
    _limit("max_memory", 1073741824, "Largest memory a function may ask for, in bytes."),
    _limit("default_timeout", 5, "Timeout of a function that asks for none, in seconds."),
    _limit("min_timeout", 1, "Shortest timeout a function may ask for, in seconds."),
    _limit("max_timeout", 300, "Longest timeout a function may ask for, in seconds."),
]
