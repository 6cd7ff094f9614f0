"""Options of the local sandbox orchestrator ([sandbox])."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "sandbox"

OPTS: list[cfg.Opt] = [
    cfg.BoolOpt(
        "unsafe_development_mode",
        default=False,
        help="Run functions without isolation when the host cannot sandbox "
        "them (not root, no cgroups). NEVER on a host with more than one "
        "user: any function can read the service's files.",
    ),
]
