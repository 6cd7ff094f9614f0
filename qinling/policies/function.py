"""Functions, and the admin-only operations on their workers."""

from __future__ import annotations

from qinling.policies import base

FUNCTION = "/v1/functions/{function_id}"

rules = [
    *base.crud("function", FUNCTION),
    base.all_projects("function", "/v1/functions"),
    *(
        base.single(
            f"function:{action}",
            base.ADMIN,
            what,
            "POST",
            f"{FUNCTION}/{action}",
        )
        for action, what in (
            ("detach", "Stop every worker of a function."),
            ("scale_up", "Start more workers of a function."),
            ("scale_down", "Stop some workers of a function."),
        )
    ),
    base.single(
        "function_worker:get_all",
        base.ADMIN,
        "List the workers of a function.",
        "GET",
        FUNCTION + "/workers",
    ),
]
