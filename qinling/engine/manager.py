"""The engine's RPC endpoint: runtimes, executions and workers.

Every method takes the caller's context first (oslo.messaging's
convention) and small keyword arguments: ids, never rows.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from typing import Any

import oslo_messaging as messaging
import sqlalchemy as sa

from qinling import exceptions, rpc, states
from qinling.context import RequestContext
from qinling.db import executions as db_executions
from qinling.db import models
from qinling.db.session import Database
from qinling.engine import credentials, records, specs
from qinling.orchestrator import base
from qinling.storage import PackageStore

LOG = logging.getLogger(__name__)

CANCELLED_MESSAGE = "Execution cancelled at a user's request."


@dataclasses.dataclass(frozen=True)
class Claimed:
    """An execution accepted and claimed by this engine, ready to run.

    ``spec`` is None when it cannot run; ``error`` then says why.
    """

    accepted: db_executions.Accepted
    spec: base.FunctionSpec | None
    request: base.ExecutionRequest
    error: str | None


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
        self._credentials = owner_credentials or credentials.load(conf)
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
            spec, request = self._load_execution(execution_id)
        except exceptions.QinlingError as err:
            return self._finish(execution_id, states.ExecutionStatus.ERROR, output=err.message)
        if spec is None:
            return None
        return self.run_claimed(ctx, spec, request)

    def accept_claimed(self, order: db_executions.Order) -> Claimed:
        """Accept an execution this engine runs at once: inserted, claimed and
        loaded in one transaction (the warm path of a sync call in process).

        Raises what ``accept`` raises (nothing is inserted then); a function
        that cannot run (its runtime not available, ...) is accepted and its
        ``error`` is returned for ``end_unrunnable``.
        """
        with self._db.connection() as conn:
            accepted = db_executions.accept_order(conn, order, claim_host=self._conf.engine.host)
            row = accepted.row
            function = conn.execute(
                records.FUNCTION_QUERY,
                {"function_id": row["function_id"], "version": row["function_version"]},
            ).first()
            try:
                if function is None:
                    raise exceptions.NotFound("The function was deleted before it ran.")
                spec = self._function_spec(conn, function)
            except exceptions.QinlingError as err:
                return Claimed(accepted, None, base.ExecutionRequest(accepted.id), err.message)
            conn.execute(records.COUNT_UPDATE, {"function_id": row["function_id"]})
        request = self._request(accepted.id, row["input"], function)
        return Claimed(accepted, spec, request, None)

    def end_unrunnable(self, execution_id: str, message: str) -> dict[str, Any] | None:
        return self._finish(execution_id, states.ExecutionStatus.ERROR, output=message)

    def run_claimed(
        self, ctx: RequestContext, spec: base.FunctionSpec, request: base.ExecutionRequest
    ) -> dict[str, Any] | None:
        """Run an execution this engine has claimed and record how it ended."""
        execution_id = request.execution_id
        started = time.perf_counter()
        try:
            self._ensure_pool(spec.runtime)
            result = self._orchestrator.run_execution(spec, request)
        except exceptions.QinlingError as err:
            result = base.ExecutionResult(success=False, platform_error=err.message)
        except Exception as err:
            LOG.exception("Execution %s: the orchestrator failed", execution_id)
            result = base.ExecutionResult(success=False, platform_error=f"Platform error: {err}")
        ran = time.perf_counter()
        outcome = self._record(execution_id, spec, result)
        LOG.debug(
            "Execution %s: ran in %.2f ms, recorded in %.2f ms",
            execution_id,
            (ran - started) * 1000,
            (time.perf_counter() - ran) * 1000,
        )
        return outcome

    def _load_execution(
        self, execution_id: str
    ) -> tuple[base.FunctionSpec | None, base.ExecutionRequest]:
        """Claim the execution and read what running it needs, in one transaction.

        Core statements, not the ORM: this is the warm path of every execution.
        """
        with self._db.connection() as conn:
            if not self._claim(conn, execution_id):
                LOG.info(
                    "Execution %s is gone, final or taken by another engine; skipped", execution_id
                )
                return None, base.ExecutionRequest(execution_id)
            row = conn.execute(records.EXECUTION_QUERY, {"id": execution_id}).first()
            if row is None or row.function_id is None:
                raise exceptions.NotFound(
                    "The function of this execution was deleted before it ran."
                )
            spec = self._function_spec(conn, row)
            conn.execute(records.COUNT_UPDATE, {"function_id": row.function_id})
        return spec, self._request(execution_id, row.input, row)

    def _request(self, execution_id: str, raw_input: str | None, row) -> base.ExecutionRequest:
        """``row``: the function's columns as ``records.FUNCTION_QUERY`` returns them."""
        return base.ExecutionRequest(
            execution_id=execution_id,
            input=records.decode_input(raw_input),
            context={
                "execution_id": execution_id,
                "function_id": row.function_id,
                "function_version": row.function_version,
                "project_id": row.project_id,
                **self._owner_credentials(execution_id, row),
            },
        )

    def _owner_credentials(self, execution_id: str, row) -> dict[str, Any]:
        """A token of the function's owner; without it the function still runs."""
        try:
            return self._credentials.for_function(row.project_id, row.trust_id)
        except exceptions.QinlingError as err:
            LOG.warning("Execution %s runs without OpenStack credentials: %s", execution_id, err)
            return {}

    def _function_spec(self, conn, row) -> base.FunctionSpec:
        """The spec of the function (version) in ``row``; its runtime must be ready."""
        source = row
        if row.function_version:
            version = {"function_id": row.function_id, "number": row.function_version}
            source = conn.execute(records.VERSION_QUERY, version).first()
            if source is None:
                raise exceptions.NotFound(
                    f"Function {row.function_id} has no version {row.function_version}."
                )
        runtime = conn.execute(records.RUNTIME_QUERY, {"id": source.runtime_id}).first()
        if runtime is None:
            raise exceptions.NotFound(f"The runtime of function {row.function_id} is gone.")
        if runtime.status != states.RuntimeStatus.AVAILABLE:
            raise exceptions.Conflict(f"Runtime {runtime.id} is {runtime.status}, not available.")
        return specs.function_spec(
            row,
            source,
            runtime,
            package_path=self._package_path(source.package_digest),
            default_concurrency=self._conf.engine.function_concurrency,
        )

    def _package_path(self, digest: str | None) -> str | None:
        if not digest:
            return None
        path = self._storage.local_path(digest)
        if path is None:
            raise exceptions.NotFound("The function's package is missing from the store.")
        return path

    def _claim(self, conn, execution_id: str) -> bool:
        """Take an accepted execution for this engine, at most once overall.

        A redelivered or re-dispatched execution (see ``reaper``) may reach
        several engines; only the one whose conditional UPDATE matches runs it.
        """
        claimed = conn.execute(
            records.CLAIM,
            {"execution_id": execution_id, "now": models.utcnow(), "host": self._conf.engine.host},
        )
        return claimed.rowcount == 1

    def _record(
        self, execution_id: str, spec: base.FunctionSpec, result: base.ExecutionResult
    ) -> dict[str, Any] | None:
        if result.platform_error:
            status = states.ExecutionStatus.ERROR
            output: Any = result.platform_error
        else:
            status = (
                states.ExecutionStatus.SUCCESS if result.success else states.ExecutionStatus.FAILED
            )
            output = result.output
        return self._finish(
            execution_id,
            status,
            output=output,
            duration=result.duration,
            logs=result.logs,
            cold_start=result.cold_start,
            init_duration=result.init_duration,
            memory_peak=result.memory_peak,
        )

    def _finish(
        self,
        execution_id: str,
        status: states.ExecutionStatus,
        *,
        output: Any,
        duration: float = 0.0,
        logs: str = "",
        **extra: Any,
    ) -> dict[str, Any] | None:
        result = records.encode_result(output, duration)
        values = dict(
            status=status,
            result=result,
            logs=records.cap(logs, records.MAX_LOG_CHARS),
            duration=round(duration, 6),
            finished_at=models.utcnow(),
            **extra,
        )
        with self._db.connection() as conn:
            ended = records.end_running(
                conn, execution_id, **values, updated_at=values["finished_at"]
            )
        LOG.info("Execution %s ended %s", execution_id, status)
        if not ended:
            return None
        outcome = {k: v for k, v in values.items() if k not in ("logs", "finished_at")}
        return outcome | {"status": str(status), "updated_at": values["finished_at"].isoformat()}

    def cancel_execution(self, ctx: RequestContext, execution_id: str) -> bool:
        """End a running execution as ``cancelled``, then stop its worker.

        The API sends this to the engine named in the execution's
        ``engine_host``. The conditional UPDATE decides the race with the
        run's own ending: False when the execution had already ended.
        """
        now = models.utcnow()
        with self._db.connection() as conn:
            cancelled = records.end_running(
                conn,
                execution_id,
                status=states.ExecutionStatus.CANCELLED,
                result=records.encode_result(CANCELLED_MESSAGE, 0.0),
                finished_at=now,
                updated_at=now,
            )
        if not cancelled:
            LOG.info("Execution %s had already ended; nothing to cancel", execution_id)
            return False
        stopped = self._orchestrator.cancel_execution(execution_id)
        LOG.info("Execution %s cancelled (its run stopped: %s)", execution_id, stopped)
        return True

    # Workers ------------------------------------------------------------

    def _spec_for(self, function_id: str, version: int) -> base.FunctionSpec:
        with self._db.connection() as conn:
            row = conn.execute(
                records.FUNCTION_QUERY, {"function_id": function_id, "version": version}
            ).first()
            if row is None:
                raise exceptions.NotFound.of("Function", function_id)
            return self._function_spec(conn, row)

    def scale_up(self, ctx: RequestContext, function_id: str, version: int, count: int) -> None:
        spec = self._spec_for(function_id, version)
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
