"""oslo.messaging wiring shared by the API (client) and the engine (server)."""

from __future__ import annotations

from typing import Any

import oslo_messaging as messaging
from oslo_config import cfg

from qinling.context import RequestContext

RPC_VERSION = "1.0"


class ContextSerializer(messaging.NoOpSerializer):
    """Carries a RequestContext across the bus as a plain dict."""

    def serialize_context(self, context: Any) -> dict:
        return context.to_dict() if isinstance(context, RequestContext) else dict(context or {})

    def deserialize_context(self, context: dict) -> RequestContext:
        return RequestContext.from_dict(context or {})


def transport(conf) -> messaging.Transport:
    """The bus of ``[DEFAULT] transport_url`` (oslo.messaging registers it)."""
    register_messaging_opts(conf)
    return messaging.get_rpc_transport(conf)


def register_messaging_opts(conf) -> None:
    # Some oslo.messaging releases register groups (tracing, metrics) on the
    # global CONF only, yet read them from the ConfigOpts they are given; we
    # never use the global, so register every group it lists on ours.
    from oslo_messaging import opts as messaging_opts
    from oslo_messaging._metrics import client as metrics
    from oslo_messaging._tracing import client as tracing

    groups = list(messaging_opts.list_opts()) + [
        ("oslo_messaging_metrics", metrics.oslo_messaging_metrics),
        ("oslo_messaging_tracing", tracing.oslo_messaging_tracing),
    ]
    for group, options in groups:
        name = None if group in (None, "DEFAULT") else group
        for opt in options:
            try:
                conf.register_opt(opt, group=name)
            except cfg.DuplicateOptError:
                pass


def target(conf, *, server: str | None = None) -> messaging.Target:
    return messaging.Target(topic=conf.engine.topic, server=server, version=RPC_VERSION)
