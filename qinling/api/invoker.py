"""The one seam between the API's resources and the path that runs an execution.

Resources (executions, webhooks) build an ``Order`` and call ``invoke``; what
happens then depends on how the service is deployed (DESIGN section 4):
``EngineInvoker`` accepts the execution here and hands it to the engine
client (RPC in ``qinling-api``, in process in ``qinling-server``); the
engine's own invokers (``qinling.engine.invoker``) take shorter paths where
the API can reach the engine's data path directly.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Protocol

from qinling.context import RequestContext
from qinling.db import executions as db_executions
from qinling.db.session import Database
from qinling.engine.client import EngineClient
from qinling.work_gate import GATE

LOG = logging.getLogger(__name__)


class Invoker(Protocol):
    def invoke(self, ctx: RequestContext, order: db_executions.Order) -> Any:
        """Accept ``order`` and, when it is sync, run it.

        Returns the execution as an object with the row's columns as
        attributes: final when sync, ``running`` otherwise. Raises what
        ``db.executions.accept`` raises; nothing is accepted then.
        """


class EngineInvoker:
    """Accept in the API's database transaction, then hand over to the engine."""

    def __init__(
        self,
        db: Database,
        engine: EngineClient,
        *,
        lookups: db_executions.Lookups = (None, None),
    ) -> None:
        """``lookups``: how a function and an alias are read (``db.executions.accept``):
        the engine's, answering from rows kept, where the service wires them
        (``engine.loader.kept_lookups``); None for the default reads."""
        self._db = db
        self._engine = engine
        self._lookup, self._alias_lookup = lookups

    def invoke(self, ctx: RequestContext, order: db_executions.Order) -> Any:
        started = time.perf_counter()
        accepted = self._db.write(
            lambda conn: db_executions.accept_order(conn, order, self._lookup, self._alias_lookup)
        )
        accepted_at = time.perf_counter()
        with GATE.waiting():
            outcome = self._engine.create_execution(
                ctx, accepted.id, sync=order.sync, timeout=accepted.timeout
            )
        LOG.debug(
            "Execution %s accepted in %.2f ms, engine answered in %.2f ms (request %s)",
            accepted.id,
            (accepted_at - started) * 1000,
            (time.perf_counter() - accepted_at) * 1000,
            ctx.request_id,
        )
        if not order.sync:
            return accepted.as_object()
        return db_executions.settled(self._db, accepted, outcome)
