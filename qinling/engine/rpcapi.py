"""The engine's RPC client: one method per operation, small payloads."""

from __future__ import annotations

from typing import Any

import oslo_messaging as messaging

from qinling import exceptions, rpc
from qinling.context import RequestContext

# Reads and scaling answer quickly; a sync execution waits for the function.
DEFAULT_TIMEOUT = 30


class EngineRPCClient:
    def __init__(self, conf, transport: messaging.Transport | None = None) -> None:
        self._conf = conf
        self._transport = transport or rpc.transport(conf)
        self._client = messaging.get_rpc_client(
            self._transport,
            rpc.target(conf),
            serializer=rpc.ContextSerializer(),
            timeout=DEFAULT_TIMEOUT,
        )

    def _call(
        self, ctx: RequestContext, method: str, *, timeout: int | None = None, **kwargs: Any
    ) -> Any:
        client = self._client.prepare(timeout=timeout) if timeout else self._client
        try:
            return client.call(ctx, method, **kwargs)
        except messaging.MessagingTimeout as err:
            raise exceptions.ServiceUnavailable(
                f"The engine did not answer '{method}' in time; try again later."
            ) from err
        except messaging.MessageDeliveryFailure as err:
            raise exceptions.ServiceUnavailable(f"The engine cannot be reached: {err}") from err
        except messaging.RemoteError as err:
            raise _remote_error(err) from err

    def _cast(self, ctx: RequestContext, method: str, **kwargs: Any) -> None:
        try:
            self._client.cast(ctx, method, **kwargs)
        except messaging.MessageDeliveryFailure as err:
            raise exceptions.ServiceUnavailable(f"The engine cannot be reached: {err}") from err

    def create_runtime(self, ctx, runtime_id):
        self._cast(ctx, "create_runtime", runtime_id=runtime_id)

    def update_runtime(self, ctx, runtime_id):
        self._cast(ctx, "update_runtime", runtime_id=runtime_id)

    def delete_runtime(self, ctx, runtime_id):
        self._cast(ctx, "delete_runtime", runtime_id=runtime_id)

    def get_runtime_pool(self, ctx, runtime_id):
        return self._call(ctx, "get_runtime_pool", runtime_id=runtime_id)

    def create_execution(self, ctx, execution_id, *, sync, timeout):
        if sync:
            margin = self._conf.api.sync_execution_margin
            return self._call(
                ctx, "create_execution", timeout=timeout + margin, execution_id=execution_id
            )
        self._cast(ctx, "create_execution", execution_id=execution_id)
        return None

    def delete_function(self, ctx, function_id, version=None):
        self._cast(ctx, "delete_function", function_id=function_id, version=version)

    def scale_up(self, ctx, function_id, version, count):
        self._call(ctx, "scale_up", function_id=function_id, version=version, count=count)

    def scale_down(self, ctx, function_id, version, count):
        self._call(ctx, "scale_down", function_id=function_id, version=version, count=count)

    def list_workers(self, ctx, function_id, version=None):
        return self._call(ctx, "list_workers", function_id=function_id, version=version)

    def shutdown(self) -> None:
        self._transport.cleanup()


def _remote_error(err: messaging.RemoteError) -> exceptions.QinlingError:
    """Rebuild a domain exception the engine raised, by its class name."""
    cls = getattr(exceptions, err.exc_type or "", None)
    message = (err.value or "").strip()
    if isinstance(cls, type) and issubclass(cls, exceptions.QinlingError):
        return cls(message)
    return exceptions.QinlingError(f"The engine failed: {err.exc_type}")
