"""Runtimes: everyone reads them, only admins manage them."""

from __future__ import annotations

from qinling.policies import base

RUNTIME = "/v1/runtimes/{runtime_id}"

rules = [
    *base.crud("runtime", RUNTIME, ops=("get", "get_all")),
    *base.crud("runtime", RUNTIME, ops=("create", "update", "delete"), writers=base.ADMIN),
    base.all_projects("runtime", "/v1/runtimes"),
    base.single(
        "runtime_pool:get_all",
        base.ADMIN,
        "Show the worker pool of a runtime.",
        "GET",
        RUNTIME + "/pool",
    ),
]
