"""Who may do what: oslo.policy rules (``qinling.policies``) checked in one place.

``Enforcer`` is built once per app from its configuration (``[oslo_policy]``
names the operator's ``policy.yaml``) and handed to resources in ``Deps``.
Resources call ``enforce(ctx, action)`` with the rule names of
``qinling.policies``.
"""

from __future__ import annotations

import time

from oslo_policy import policy as oslo_policy

from qinling import exceptions, policies
from qinling.context import RequestContext


def credentials(ctx: RequestContext) -> dict:
    return {
        "project_id": ctx.project_id,
        "user_id": ctx.user_id,
        "roles": list(ctx.roles),
    }


# Decisions depend only on the caller (the target is built from it), so they
# are cached briefly: oslo.policy re-checks its policy file on every call,
# which cost more than the rest of a warm execution. Edits of policy.yaml
# take effect within DECISION_TTL seconds.
DECISION_TTL = 10.0
MAX_DECISIONS = 10000


class Enforcer:
    def __init__(self, conf) -> None:
        self._enforcer = oslo_policy.Enforcer(conf)
        self._enforcer.register_defaults(policies.list_rules())
        self._decisions: dict[tuple, tuple[float, bool]] = {}

    @property
    def oslo(self) -> oslo_policy.Enforcer:
        return self._enforcer

    def allows(self, ctx: RequestContext, action: str) -> bool:
        key = (action, ctx.project_id, ctx.user_id, ctx.roles)
        now = time.monotonic()
        cached = self._decisions.get(key)
        if cached is not None and now - cached[0] < DECISION_TTL:
            return cached[1]
        target = {"project_id": ctx.project_id, "user_id": ctx.user_id}
        allowed = bool(self._enforcer.authorize(action, target, credentials(ctx)))
        if len(self._decisions) >= MAX_DECISIONS:
            self._decisions.clear()
        self._decisions[key] = (now, allowed)
        return allowed

    def enforce(self, ctx: RequestContext, action: str) -> None:
        if not self.allows(ctx, action):
            raise exceptions.Forbidden(self._refusal(action))

    def _refusal(self, action: str) -> str:
        rule = self._enforcer.rules.get(action) or self._enforcer.registered_rules[action]
        if str(rule) == policies.base.ADMIN:
            return f"Only admins may perform '{action}'."
        return f"The policy does not allow '{action}' to this caller."

    def is_admin(self, ctx: RequestContext) -> bool:
        return self.allows(ctx, "context_is_admin")


def get_enforcer() -> oslo_policy.Enforcer:
    """For oslo.policy's tools (entry point ``oslo.policy.enforcer``)."""
    from qinling import conf as qconf

    return Enforcer(qconf.new_config([])).oslo
