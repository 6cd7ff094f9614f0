"""Function aliases."""

from __future__ import annotations

from qinling.policies import base

rules = [
    *base.crud("function_alias", "/v1/aliases/{name}", label="function alias"),
    base.all_projects("function_alias", "/v1/aliases"),
]
