"""Function versions: immutable snapshots, no update."""

from __future__ import annotations

from qinling.policies import base

VERSION = "/v1/functions/{function_id}/versions/{version}"

rules = [
    *base.crud(
        "function_version",
        VERSION,
        ops=("create", "get", "get_all", "delete"),
        label="function version",
    ),
    *(
        base.single(
            f"function_version:{action}",
            base.ADMIN,
            what,
            "POST",
            f"{VERSION}/{action}",
        )
        for action, what in (
            ("detach", "Stop every worker of a function version."),
            ("scale_up", "Start more workers of a function version."),
            ("scale_down", "Stop some workers of a function version."),
        )
    ),
]
