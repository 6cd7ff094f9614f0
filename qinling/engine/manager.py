"""The engine's RPC endpoint: runtimes, executions and workers.

Every method takes the caller's context first (oslo.messaging's
convention) and small keyword arguments: ids, never rows.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import oslo_messaging as messaging
import sqlalchemy as sa

from qinling import exceptions, rpc, states
from qinling.context import RequestContext
from qinling.db import models
from qinling.db.session import Database
from qinling.engine import credentials, records, specs
from qinling.engine.loader import ExecutionLoader
from qinling.engine.pending import PendingExecutions
from qinling.orchestrator import base
from qinling.storage import PackageStore

LOG = logging.getLogger(__name__)

CANCELLED_MESSAGE = "Execution cancelled at a user's request."


class EngineManager:
    target = messaging.Target(version=rpc.RPC_VERSION)

    def __init__(
        self,
        conf,
        db: Database,
        orchestrator: base.Orchestrator,
        storage: PackageStore,
        owner_credentials: credentials.FunctionCredentials | None = None,
    ) -> None:
        self._conf = conf
        self._db = db
        self._orchestrator = orchestrator
        self._storage = storage
        self.loader = ExecutionLoader(conf, db, storage, owner_credentials)
        self.pending = PendingExecutions(db, conf.api.sync_execution_write_after)
        # Runtime id -> image of the pools this engine has prepared. Every
        # engine needs its own pools: one that missed a runtime's creation
        # (started later, or the cast went elsewhere) prepares it on first use.
        self._pools: dict[str, str] = {}
        self._pools_lock = threading.Lock()

    # Runtimes -----------------------------------------------------------

    def create_runtime(self, ctx: RequestContext, runtime_id: str) -> None:
        self._prepare_pool(runtime_id, self._orchestrator.create_pool)

    def update_runtime(self, ctx: RequestContext, runtime_id: str) -> None:
        self._prepare_pool(runtime_id, self._orchestrator.update_pool)

    def _prepare_pool(self, runtime_id: str, action) -> None:
        with self._db.transaction() as session:
            runtime = session.get(models.Runtime, runtime_id)
            if runtime is None:
                return
            spec = specs.runtime_spec(runtime)
        try:
            with self._pools_lock:
                action(spec)
                self._pools[spec.id] = spec.image
            status, reason = states.RuntimeStatus.AVAILABLE, None
        except exceptions.QinlingError as err:
            LOG.warning("Runtime %s cannot be prepared: %s", runtime_id, err.message)
            status, reason = states.RuntimeStatus.ERROR, err.message
        with self._db.transaction() as session:
            session.execute(
                sa.update(models.Runtime)
                .where(models.Runtime.id == runtime_id)
                .values(status=status, status_reason=reason)
            )

    def delete_runtime(self, ctx: RequestContext, runtime_id: str) -> None:
        with self._pools_lock:
            self._pools.pop(runtime_id, None)
            self._orchestrator.delete_pool(runtime_id)

    def _ensure_pool(self, runtime: base.RuntimeSpec) -> None:
        """Prepare the runtime's pool here if this engine has not yet."""
        if self._pools.get(runtime.id) == runtime.image:
            return
        with self._pools_lock:
            known = self._pools.get(runtime.id)
            if known == runtime.image:
                return
            if known is None:
                self._orchestrator.create_pool(runtime)
            else:
                self._orchestrator.update_pool(runtime)
            self._pools[runtime.id] = runtime.image

    def get_runtime_pool(self, ctx: RequestContext, runtime_id: str) -> dict[str, Any]:
        pool = self._orchestrator.get_pool(runtime_id)
        return {
            "name": pool.name,
            "capacity": {"total": pool.total, "available": pool.available},
            "workers": pool.workers,
            "warnings": list(pool.warnings),
        }

    # Executions ---------------------------------------------------------

    def create_execution(self, ctx: RequestContext, execution_id: str) -> dict[str, Any] | None:
        """Run an accepted execution and record how it ended.

        Returns the recorded fields (JSON-safe, for RPC callers), or None when
        this engine did not run it (already final, or claimed elsewhere).
        """
        try:
            spec, request = self.loader.claim_and_load(execution_id)
        except exceptions.QinlingError as err:
            return records.finish(
                self._db, execution_id, states.ExecutionStatus.ERROR, output=err.message
            )
        if spec is None:
            return None
        return self.run_claimed(ctx, spec, request)

    def run_claimed(
        self, ctx: RequestContext, spec: base.FunctionSpec, request: base.ExecutionRequest
    ) -> dict[str, Any] | None:
        """Run an execution this engine has claimed and record how it ended."""
        started = time.perf_counter()
        result = self.run_only(ctx, spec, request)
        ran = time.perf_counter()
        outcome = records.record(self._db, request.execution_id, result)
        LOG.debug(
            "Execution %s: ran in %.2f ms, recorded in %.2f ms",
            request.execution_id,
            (ran - started) * 1000,
            (time.perf_counter() - ran) * 1000,
        )
        return outcome

    def run_recorded(
        self,
        ctx: RequestContext,
        execution: dict[str, Any],
        spec: dict[str, Any],
        request: dict[str, Any],
    ) -> dict[str, Any] | None:
        """Run a sync execution an API process has read but not written
        (``engine.invoker.RemoteRunInvoker``), then write it here, once, as it
        ended (``engine.pending``): in split mode, one database write for
        the whole execution.

        ``execution``: its row (``records.row_to_wire``); ``spec`` and
        ``request``: what running it needs. Returns the recorded fields
        (``records.outcome_of``), or None when it ended otherwise meanwhile.
        """
        held = self.pending.hold(self._claimed_here(execution))
        result = self.run_only(ctx, specs.spec_from_wire(spec), base.ExecutionRequest(**request))
        return self.pending.end(held, result)

    def record_unrun(
        self, execution: dict[str, Any], result: base.ExecutionResult
    ) -> dict[str, Any] | None:
        """Write a sync execution this engine will not run, as ended."""
        return self.pending.end(self.pending.hold(self._claimed_here(execution)), result)

    def _claimed_here(self, execution: dict[str, Any]) -> dict[str, Any]:
        now = models.utcnow()
        return records.row_from_wire(execution) | {
            "engine_host": self.loader.host,
            "started_at": now,
        }

    def engine_host(self, ctx: RequestContext) -> str:
        """This engine's ``[engine] host``: the RPC server name executions it
        runs are claimed under."""
        return self._conf.engine.host

    def run_only(
        self,
        ctx: RequestContext,
        spec: base.FunctionSpec,
        request: base.ExecutionRequest,
        *,
        loan: Any = None,
    ) -> base.ExecutionResult:
        """Run a claimed execution; recording it is the caller's.

        ``loan``: an API process would keep the worker afterwards (see
        ``orchestrator.local.leases``); for a driver that lends workers.
        """
        lending = {} if loan is None else {"loan": loan}
        try:
            self._ensure_pool(spec.runtime)
            return self._orchestrator.run_execution(spec, request, **lending)
        except exceptions.QinlingError as err:
            return base.ExecutionResult(success=False, platform_error=err.message)
        except Exception as err:
            LOG.exception("Execution %s: the orchestrator failed", request.execution_id)
            return base.ExecutionResult(success=False, platform_error=f"Platform error: {err}")

    def cancel_execution(self, ctx: RequestContext, execution_id: str) -> bool:
        """End a running execution as ``cancelled``, then stop its worker.

        The API sends this to the engine named in the execution's
        ``engine_host``. The conditional UPDATE decides the race with the
        run's own ending: False when the execution had already ended.
        """
        now = models.utcnow()
        values = dict(
            status=states.ExecutionStatus.CANCELLED,
            result=records.encode_result(CANCELLED_MESSAGE, 0.0),
            finished_at=now,
            updated_at=now,
        )
        cancelled = self._db.write(
            lambda conn: records.end_running(conn, execution_id, **values), one_statement=True
        )
        if not cancelled:
            LOG.info("Execution %s had already ended; nothing to cancel", execution_id)
            return False
        stopped = self._orchestrator.cancel_execution(execution_id)
        LOG.info("Execution %s cancelled (its run stopped: %s)", execution_id, stopped)
        return True

    # Workers ------------------------------------------------------------

    def scale_up(self, ctx: RequestContext, function_id: str, version: int, count: int) -> None:
        spec = self.loader.spec_for(function_id, version)
        self._ensure_pool(spec.runtime)
        self._orchestrator.scale_up(spec, count)

    def scale_down(self, ctx: RequestContext, function_id: str, version: int, count: int) -> None:
        self._orchestrator.scale_down(function_id, version, count)

    def delete_function(
        self, ctx: RequestContext, function_id: str, version: int | None = None
    ) -> None:
        self._orchestrator.delete_function(function_id, version)

    def list_workers(
        self, ctx: RequestContext, function_id: str, version: int | None = None
    ) -> list[dict[str, Any]]:
        return [
            {
                "function_id": w.function_id,
                "function_version": w.version,
                "worker_name": w.name,
                "status": str(w.state),
            }
            for w in self._orchestrator.list_workers(function_id, version)
        ]

    # Periodic -----------------------------------------------------------

    def reap_idle_workers(self) -> int:
        return self._orchestrator.reap_idle(self._conf.engine.function_service_expiration)
