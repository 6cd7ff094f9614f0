"""oslo.messaging wiring shared by the API (client) and the engine (server)."""

from __future__ import annotations

from typing import Any

import oslo_messaging as messaging

from qinling.context import RequestContext

RPC_VERSION = "1.0"


class ContextSerializer(messaging.NoOpSerializer):
    """Carries a RequestContext across the bus as a plain dict."""

    def serialize_context(self, context: Any) -> dict:
        return context.to_dict() if isinstance(context, RequestContext) else dict(context or {})

    def deserialize_context(self, context: dict) -> RequestContext:
        return RequestContext.from_dict(context or {})


def transport(conf) -> messaging.Transport:
    return messaging.get_rpc_transport(conf, url=conf.transport_url)


def target(conf, *, server: str | None = None) -> messaging.Target:
    return messaging.Target(topic=conf.engine.topic, server=server, version=RPC_VERSION)
