"""The engine's RPC client: one method per operation, small payloads."""

from __future__ import annotations

import logging
from typing import Any

import kombu.exceptions
import oslo_messaging as messaging

from qinling import exceptions, rpc
from qinling.context import RequestContext

LOG = logging.getLogger(__name__)

# Reads and scaling answer quickly; a sync execution waits for the function.
DEFAULT_TIMEOUT = 30
# A cancel kills one worker; its engine may be gone, so do not wait long.
CANCEL_TIMEOUT = 10
# Connection attempts before a message is refused while the bus is down
# (oslo.messaging's default retries forever, which would hang API requests).
SEND_RETRIES = 2
# Sending fails with the first; the rabbit driver lets the second out when
# the bus is down as it opens a new connection.
_SEND_FAILURES = (messaging.MessageDeliveryFailure, kombu.exceptions.OperationalError)


class EngineRPCClient:
    def __init__(self, conf, transport: messaging.Transport | None = None) -> None:
        self._conf = conf
        self._transport = transport or rpc.transport(conf)
        self._client = messaging.get_rpc_client(
            self._transport,
            rpc.target(conf),
            serializer=rpc.ContextSerializer(),
            timeout=DEFAULT_TIMEOUT,
            retry=SEND_RETRIES,
        )

    def _call(
        self,
        ctx: RequestContext,
        method: str,
        *,
        timeout: int | None = None,
        server: str | None = None,
        **kwargs: Any,
    ) -> Any:
        client = self._client.prepare(timeout=timeout or DEFAULT_TIMEOUT, server=server)
        try:
            return client.call(ctx, method, **kwargs)
        except messaging.MessagingTimeout as err:
            raise exceptions.ServiceUnavailable(
                f"The engine did not answer '{method}' in time; try again later."
            ) from err
        except _SEND_FAILURES as err:
            raise exceptions.ServiceUnavailable(f"The engine cannot be reached: {err}") from err
        except messaging.RemoteError as err:
            raise _remote_error(err) from err

    def _cast(
        self, ctx: RequestContext, method: str, *, fanout: bool = False, **kwargs: Any
    ) -> None:
        """Send without waiting; ``fanout`` reaches every engine, not just one."""
        client = self._client.prepare(fanout=True) if fanout else self._client
        try:
            client.cast(ctx, method, **kwargs)
        except _SEND_FAILURES as err:
            raise exceptions.ServiceUnavailable(f"The engine cannot be reached: {err}") from err

    def create_runtime(self, ctx, runtime_id):
        self._cast(ctx, "create_runtime", fanout=True, runtime_id=runtime_id)

    def update_runtime(self, ctx, runtime_id):
        self._cast(ctx, "update_runtime", fanout=True, runtime_id=runtime_id)

    def delete_runtime(self, ctx, runtime_id):
        self._cast(ctx, "delete_runtime", fanout=True, runtime_id=runtime_id)

    def get_runtime_pool(self, ctx, runtime_id):
        return self._call(ctx, "get_runtime_pool", runtime_id=runtime_id)

    def create_execution(self, ctx, execution_id, *, sync, timeout):
        if sync:
            margin = self._conf.api.sync_execution_margin
            try:
                return self._call(
                    ctx, "create_execution", timeout=timeout + margin, execution_id=execution_id
                )
            except exceptions.ServiceUnavailable as err:
                raise exceptions.ServiceUnavailable(
                    f"{err.message} Execution {execution_id} stays accepted; "
                    f"GET /v1/executions/{execution_id} shows how it ends."
                ) from err
        try:
            self._cast(ctx, "create_execution", execution_id=execution_id)
        except exceptions.ServiceUnavailable as err:
            # The row is committed: the reaper of any engine runs it after
            # [engine] pickup_timeout, so the execution stays accepted.
            LOG.warning("Execution %s left for the reaper: %s", execution_id, err.message)
        return None

    def run_recorded(self, ctx, execution, spec, request, *, timeout):
        """Have an engine run and write a sync execution read here (see
        ``EngineManager.run_recorded``); the fields it recorded."""
        margin = self._conf.api.sync_execution_margin
        try:
            return self._call(
                ctx,
                "run_recorded",
                timeout=timeout + margin,
                execution=execution,
                spec=spec,
                request=request,
            )
        except exceptions.ServiceUnavailable as err:
            raise exceptions.ServiceUnavailable(
                f"{err.message} Execution {execution['id']} is recorded: "
                f"GET /v1/executions/{execution['id']} shows how it ended."
            ) from err

    def cancel_execution(self, ctx, execution_id, *, host):
        return self._call(
            ctx,
            "cancel_execution",
            timeout=CANCEL_TIMEOUT,
            server=host,
            execution_id=execution_id,
        )

    def delete_function(self, ctx, function_id, version=None):
        # Every engine may hold warm workers of the function.
        self._cast(ctx, "delete_function", fanout=True, function_id=function_id, version=version)

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
    message = (err.value or "").strip()
    return exceptions.by_name(err.exc_type, message, f"The engine failed: {err.exc_type}")
