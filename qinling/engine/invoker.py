"""The shorter paths an execution takes where the API reaches the engine directly."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from qinling import states
from qinling.context import RequestContext
from qinling.db import executions as db_executions
from qinling.db.session import Database
from qinling.engine import records
from qinling.engine.loader import ExecutionLoader
from qinling.orchestrator import base

if TYPE_CHECKING:  # the protocol only: the engine does not depend on the API
    from qinling.api.invoker import Invoker

RunClaimed = Callable[
    [RequestContext, base.FunctionSpec, base.ExecutionRequest], "dict[str, Any] | None"
]


class ClaimingInvoker:
    """A sync execution is accepted, claimed and loaded in one transaction,
    then handed to an engine on this host with everything it needs: two
    transactions in all instead of three, and no claim race to decide.

    ``run_claimed``: the engine's ``Gate.run_claimed`` in ``qinling-server``'s
    own process, or ``SocketEngineClient.run_claimed`` in its other API
    processes. Async executions go to ``fallback`` and stay unclaimed until
    an engine thread takes them, so that the reaper can hand them elsewhere
    if the engine dies first (at-least-once).
    """

    def __init__(
        self,
        db: Database,
        loader: ExecutionLoader,
        run_claimed: RunClaimed,
        fallback: Invoker,
    ) -> None:
        self._db = db
        self._loader = loader
        self._run_claimed = run_claimed
        self._fallback = fallback

    def invoke(self, ctx: RequestContext, order: db_executions.Order) -> Any:
        if not order.sync:
            return self._fallback.invoke(ctx, order)
        claimed = self._loader.accept_claimed(order)
        if claimed.spec is None:
            outcome = records.finish(
                self._db,
                claimed.accepted.id,
                states.ExecutionStatus.ERROR,
                output=claimed.error or "",
            )
        else:
            outcome = self._run_claimed(ctx, claimed.spec, claimed.request)
        return db_executions.settled(self._db, claimed.accepted, outcome)
