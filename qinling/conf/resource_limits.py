from __future__ import annotations

from oslo_config import cfg

GROUP = "resource_limits"

OPTS = [
    cfg.IntOpt("default_cpu", default=100, help="Default CPU of a function, in millicpu."),
    cfg.IntOpt("min_cpu", default=100, help="Smallest CPU a function may ask for, in millicpu."),
    cfg.IntOpt("max_cpu", default=2000, help="Largest CPU a function may ask for, in millicpu."),
    cfg.IntOpt("default_memory", default=33554432, help="Default memory of a function, in bytes."),
    cfg.IntOpt(
        "min_memory", default=33554432, help="Smallest memory a function may ask for, in bytes."
    ),
    cfg.IntOpt(
        "max_memory", default=1073741824, help="Largest memory a function may ask for, in bytes."
    ),
    cfg.IntOpt("default_timeout", default=5, help="Default timeout of a function, in seconds."),
    cfg.IntOpt(
        "min_timeout", default=1, help="Shortest timeout a function may ask for, in seconds."
    ),
    cfg.IntOpt(
        "max_timeout", default=300, help="Longest timeout a function may ask for, in seconds."
    ),
]
