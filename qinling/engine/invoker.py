"""The shorter paths an execution takes where the API reaches the engine directly."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from qinling.context import RequestContext
from qinling.db import executions as db_executions
from qinling.db.session import Database
from qinling.engine.manager import EngineManager

if TYPE_CHECKING:  # the protocol only: the engine does not depend on the API
    from qinling.api.invoker import Invoker


class ClaimingInvoker:
    """``qinling-server``: a sync execution is accepted, claimed and loaded in
    one transaction, then run by this process's engine (two transactions in
    all instead of three, and no claim race to decide).

    Async executions go to ``fallback`` and stay unclaimed until an engine
    thread takes them, so that the reaper can hand them elsewhere if this
    process dies first (at-least-once).
    """

    def __init__(self, db: Database, manager: EngineManager, gate, fallback: Invoker) -> None:
        self._db = db
        self._manager = manager
        self._gate = gate
        self._fallback = fallback

    def invoke(self, ctx: RequestContext, order: db_executions.Order) -> Any:
        if not order.sync:
            return self._fallback.invoke(ctx, order)
        claimed = self._manager.loader.accept_claimed(order)
        if claimed.spec is None:
            outcome = self._manager.end_unrunnable(claimed.accepted.id, claimed.error or "")
        else:
            outcome = self._gate.run_claimed(ctx, claimed.spec, claimed.request)
        return db_executions.settled(self._db, claimed.accepted, outcome)
