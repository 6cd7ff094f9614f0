"""What the API may ask of the engine, and the in-process implementation.

``qinling-server`` hands calls straight to its own engine: oslo.messaging's
fake driver polls every 50 ms, which would dominate a warm execution.
``qinling-api`` uses ``rpcapi.EngineRPCClient`` with the same methods.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from qinling.context import RequestContext


class EngineClient(Protocol):
    def create_runtime(self, ctx: RequestContext, runtime_id: str) -> None: ...

    def update_runtime(self, ctx: RequestContext, runtime_id: str) -> None: ...

    def delete_runtime(self, ctx: RequestContext, runtime_id: str) -> None: ...

    def get_runtime_pool(self, ctx: RequestContext, runtime_id: str) -> dict[str, Any]: ...

    def create_execution(
        self, ctx: RequestContext, execution_id: str, *, sync: bool, timeout: int
    ) -> dict[str, Any] | None:
        """Run it; when ``sync``, the recorded outcome (None: read the row)."""

    def cancel_execution(self, ctx: RequestContext, execution_id: str, *, host: str) -> bool:
        """Cancel a started execution on the engine ``host`` that runs it;
        False when it had already ended."""

    def delete_function(
        self, ctx: RequestContext, function_id: str, version: int | None = None
    ) -> None: ...

    def scale_up(self, ctx: RequestContext, function_id: str, version: int, count: int) -> None: ...

    def scale_down(
        self, ctx: RequestContext, function_id: str, version: int, count: int
    ) -> None: ...

    def list_workers(
        self, ctx: RequestContext, function_id: str, version: int | None = None
    ) -> list[dict[str, Any]]: ...


class InProcessEngineClient:
    """Calls an EngineManager in this process; casts go to ``submit``.

    ``submit`` is the engine's own ``EngineService.submit``: async executions
    from the API, the job scheduler and the reaper share its one thread pool,
    so ``[engine] execution_threads`` bounds them all.
    """

    def __init__(self, manager, *, submit: Callable[..., None]) -> None:
        self._manager = manager
        self._submit = submit

    def _cast(self, method: str, ctx: RequestContext, **kwargs: Any) -> None:
        self._submit(getattr(self._manager, method), ctx, **kwargs)

    def create_runtime(self, ctx, runtime_id):
        self._cast("create_runtime", ctx, runtime_id=runtime_id)

    def update_runtime(self, ctx, runtime_id):
        self._cast("update_runtime", ctx, runtime_id=runtime_id)

    def delete_runtime(self, ctx, runtime_id):
        self._cast("delete_runtime", ctx, runtime_id=runtime_id)

    def get_runtime_pool(self, ctx, runtime_id):
        return self._manager.get_runtime_pool(ctx, runtime_id=runtime_id)

    def create_execution(self, ctx, execution_id, *, sync, timeout):
        if sync:
            return self._manager.create_execution(ctx, execution_id=execution_id)
        self._cast("create_execution", ctx, execution_id=execution_id)
        return None

    def cancel_execution(self, ctx, execution_id, *, host):
        return self._manager.cancel_execution(ctx, execution_id=execution_id)

    def delete_function(self, ctx, function_id, version=None):
        self._cast("delete_function", ctx, function_id=function_id, version=version)

    def scale_up(self, ctx, function_id, version, count):
        self._manager.scale_up(ctx, function_id=function_id, version=version, count=count)

    def scale_down(self, ctx, function_id, version, count):
        self._manager.scale_down(ctx, function_id=function_id, version=version, count=count)

    def list_workers(self, ctx, function_id, version=None):
        return self._manager.list_workers(ctx, function_id=function_id, version=version)

    def shutdown(self) -> None:
        """Nothing of its own to stop: the engine's ``stop`` drops casts not
        started yet (their executions stay accepted, for the reaper) and drains
        running ones."""
