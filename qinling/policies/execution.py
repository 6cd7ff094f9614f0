"""Executions and their logs."""

from __future__ import annotations

from qinling.policies import base

EXECUTION = "/v1/executions/{execution_id}"

rules = [
    *base.crud("execution", EXECUTION, ops=("create", "get", "get_all", "delete")),
    base.all_projects("execution", "/v1/executions"),
    base.single(
        "execution_log:get",
        base.PROJECT_READER,
        "Show the log of an execution.",
        "GET",
        EXECUTION + "/log",
    ),
]
