"""Which operations need an admin; checked in one place by ``enforce``.

The keystone issue replaces this table with oslo.policy rules of the same
names; resources already call ``enforce`` with those names.
"""

from __future__ import annotations

from qinling import exceptions
from qinling.context import RequestContext

ADMIN_ONLY = frozenset(
    {
        "runtime:create",
        "runtime:update",
        "runtime:delete",
        "runtime_pool:get_all",
        "function:detach",
        "function:scale_up",
        "function:scale_down",
        "function_worker:get_all",
        "function_version:detach",
        "function_version:scale_up",
        "function_version:scale_down",
    }
)


def enforce(ctx: RequestContext, action: str) -> None:
    if action in ADMIN_ONLY and not ctx.is_admin:
        raise exceptions.Forbidden(f"Only admins may perform '{action}'.")
