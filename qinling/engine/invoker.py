"""The shorter paths an execution takes where the API reaches the engine directly."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from qinling import exceptions
from qinling.context import RequestContext
from qinling.db import executions as db_executions
from qinling.engine import records, specs
from qinling.engine.loader import ExecutionLoader
from qinling.engine.pending import PendingExecutions
from qinling.orchestrator import base
from qinling.work_gate import GATE

LOG = logging.getLogger(__name__)

if TYPE_CHECKING:  # the protocol only: the engine does not depend on the API
    from qinling.api.invoker import Invoker

RunClaimed = Callable[
    [RequestContext, base.FunctionSpec, base.ExecutionRequest], base.ExecutionResult
]


class ClaimingInvoker:
    """A sync execution is read, claimed and run by an engine on this host,
    then written once, as it ended (see ``engine.pending``): one database
    write on the warm path, and no claim race to decide.

    ``run``: the engine's ``Gate.run_only`` in ``qinling-server``'s own
    process, or ``socket_client.ClaimedRunner`` (the engine's data socket)
    in its other API processes and in ``qinling-api``; either returns the
    result unrecorded. ``host``: the name of the engine that runs it
    (``[engine] host`` of that engine, not of this process), under which a
    long run is written as running: cancels and the reaper find it there.
    Async executions go to ``fallback`` and stay unclaimed until an engine
    thread takes them, so that the reaper can hand them elsewhere if the
    engine dies first (at-least-once).
    """

    def __init__(
        self,
        loader: ExecutionLoader,
        pending: PendingExecutions,
        run: RunClaimed,
        fallback: Invoker,
        *,
        host: Callable[[], str] | None = None,
    ) -> None:
        self._loader = loader
        self._pending = pending
        self._run = run
        self._fallback = fallback
        self._host = host or (lambda: loader.host)

    def invoke(self, ctx: RequestContext, order: db_executions.Order) -> Any:
        if not order.sync:
            return self._fallback.invoke(ctx, order)
        claimed = self._loader.load_claimed(order, claim_host=self._host())
        held = self._pending.hold(claimed.accepted.row)
        if claimed.spec is None:
            result = base.ExecutionResult(success=False, platform_error=claimed.error)
        else:
            with GATE.waiting():
                result = self._run(ctx, claimed.spec, claimed.request)
        outcome = self._pending.end(held, result)
        return db_executions.settled(self._loader.db, claimed.accepted, outcome)


class RecordingEngine(Protocol):
    def run_recorded(
        self,
        ctx: RequestContext,
        execution: dict[str, Any],
        spec: dict[str, Any],
        request: dict[str, Any],
        *,
        timeout: int,
    ) -> dict[str, Any] | None: ...


class RemoteRunInvoker:
    """A sync execution read here and handed, unwritten, to an engine over
    RPC, which runs it and writes it once, as it ended
    (``EngineManager.run_recorded``): ``qinling-api``'s path without a data
    socket. Accepting it first, then claiming and ending it, took three
    commits (measured: 1.2-1.6 ms each on PostgreSQL here).

    As with ``ClaimingInvoker``, an execution is written only once it ends
    or runs long. When its engine does not answer (the bus is down, the
    engine died, the function outran the call), it is written here as
    ended in ``error``, unless its engine has written it (then the engine
    records how it ends): every execution a caller was told of is recorded.
    ``[api] sync_execution_write_after = 0`` keeps the accept-first path.
    Async executions go to ``fallback``.
    """

    def __init__(self, loader: ExecutionLoader, engine: RecordingEngine, fallback: Invoker) -> None:
        self._loader = loader
        self._engine = engine
        self._fallback = fallback

    def invoke(self, ctx: RequestContext, order: db_executions.Order) -> Any:
        if not order.sync:
            return self._fallback.invoke(ctx, order)
        claimed = self._loader.load_claimed(order, claim_host=None)
        accepted = claimed.accepted
        if claimed.spec is None:  # nothing to run: written here
            outcome = records.write_error(self._loader.db, accepted.row, claimed.error or "")
            return db_executions.settled(self._loader.db, accepted, outcome)
        try:
            with GATE.waiting():
                outcome = self._engine.run_recorded(
                    ctx,
                    records.row_to_wire(accepted.row),
                    specs.spec_to_wire(claimed.spec),
                    specs.request_to_wire(claimed.request),
                    timeout=accepted.timeout,
                )
        except exceptions.ServiceUnavailable as err:
            self._record_unanswered(accepted, err)
            raise
        return db_executions.settled(self._loader.db, accepted, outcome)

    def _record_unanswered(
        self, accepted: db_executions.Accepted, err: exceptions.ServiceUnavailable
    ) -> None:
        try:
            records.write_error(self._loader.db, accepted.row, err.message)
        except exceptions.Conflict:
            LOG.info("Execution %s is its engine's to record", accepted.id)
        except exceptions.QinlingError as failure:
            LOG.warning("Execution %s could not be recorded: %s", accepted.id, failure.message)
