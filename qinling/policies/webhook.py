"""Webhooks. Invoking one needs no token, so it has no rule."""

from __future__ import annotations

from qinling.policies import base

rules = [
    *base.crud("webhook", "/v1/webhooks/{webhook_id}"),
    base.all_projects("webhook", "/v1/webhooks"),
]
