"""Reading what running an execution needs: claim, function spec, owner token.

Shared by the engine, which runs executions, and by API processes that
accept and claim a sync execution before handing it to the engine's data
socket (``qinling.engine.data_socket``). Core statements, not the ORM:
this is the warm path of every execution.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from qinling import exceptions, states
from qinling.db import executions as db_executions
from qinling.db import models
from qinling.db.direct import DirectStatement
from qinling.db.session import Database
from qinling.engine import credentials, records, specs
from qinling.engine.counts import ExecutionCounts
from qinling.orchestrator import base
from qinling.storage import PackageStore

LOG = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class Claimed:
    """A sync execution accepted and claimed by this engine, ready to run.

    ``spec`` is None when it cannot run; ``error`` then says why.
    """

    accepted: db_executions.Accepted
    spec: base.FunctionSpec | None
    request: base.ExecutionRequest
    error: str | None


class ExecutionLoader:
    def __init__(
        self,
        conf,
        db: Database,
        storage: PackageStore,
        owner_credentials: credentials.FunctionCredentials | None = None,
    ) -> None:
        self.host = conf.engine.host  # the name executions this engine runs are claimed under
        # Read once: an option's lookup costs 3 us, on every execution otherwise.
        self._default_concurrency = conf.engine.function_concurrency
        self.db = db
        self._storage = storage
        self._credentials = owner_credentials or credentials.load(conf)
        self.counts = ExecutionCounts(db)
        self._targets = db.run_targets
        # The ways a function (or alias) is read, through self._targets where they exist.
        ordered, alias = kept_lookups(db)
        self._ordered_target = ordered or run_target
        self._alias = alias or db_executions.read_alias
        self._claimed_target = self._targets.wrap(_unscoped) if self._targets else _unscoped

    def load_claimed(self, order: db_executions.Order, *, claim_host: str | None) -> Claimed:
        """A sync execution to run at once, claimed by ``claim_host``: its
        row (not written: see ``engine.pending``) and what running it needs,
        read in one statement (the warm path of a sync call).
        ``claim_host``: the engine that runs it (``host`` here; an API
        process's engine, reached over its data socket), or None where an
        engine elsewhere claims it as it takes it.

        Raises what ``db.executions.new_execution`` raises; a function that
        cannot run (its runtime not available, ...) gives ``error`` saying
        why, for the caller to end it.
        """
        accepted = self._accept(order, claim_host)
        self.counts.add(accepted.row["function_id"])
        target = accepted.target
        try:
            spec = self._runnable_spec(target)
        except exceptions.QinlingError as err:
            return Claimed(accepted, None, base.ExecutionRequest(accepted.id), err.message)
        request = self._request(accepted.id, accepted.row["input"], target)
        return Claimed(accepted, spec, request, None)

    def _accept(self, order: db_executions.Order, claim_host: str | None) -> db_executions.Accepted:
        """``order_execution``, its alias and function read from
        ``self._targets`` when they have both (no database statement then)."""
        known = self._known(order)
        if known is not None:
            function_id, version, row = known
            return db_executions.order_known(
                order, row, function_id=function_id, version=version, claim_host=claim_host
            )
        with self.db.reading() as conn:
            return db_executions.order_execution(
                conn,
                order,
                claim_host=claim_host,
                lookup=self._ordered_target,
                alias_lookup=self._alias,
            )

    def _known(self, order: db_executions.Order) -> tuple[str, int, Any] | None:
        """(function id, version, ``RUN_QUERY`` row) of the order, if kept."""
        targets = self._targets
        if targets is None:
            return None
        if order.alias:
            alias = targets.alias(order.alias_project or "", order.alias)
            if alias is None:
                return None
            function_id, version = alias.function_id, db_executions.alias_version(alias)
        elif order.function_id:
            function_id, version = order.function_id, order.version or 0
        else:
            return None
        row = targets.visible(function_id, version, order.scope_project)
        return None if row is None else (function_id, version, row)

    def _runnable_spec(self, target) -> base.FunctionSpec:
        """``target``: a row of ``records.RUN_QUERY``: function, source and runtime."""
        if target.id is None:
            raise exceptions.NotFound(f"The runtime of function {target.function_id} is gone.")
        if target.runtime_status != states.RuntimeStatus.AVAILABLE:
            raise exceptions.Conflict(
                f"Runtime {target.id} is {target.runtime_status}, not available."
            )
        return specs.function_spec(
            target,
            target,
            target,
            package_path=self._package_path(target.package_digest),
            default_concurrency=self._default_concurrency,
        )

    def claim_and_load(
        self, execution_id: str
    ) -> tuple[base.FunctionSpec | None, base.ExecutionRequest]:
        """Claim the execution and read what running it needs, in one transaction.

        Core statements, not the ORM: this is the warm path of every execution.
        """
        claimed = self.db.write(lambda conn: self._claim_and_read(conn, execution_id))
        if claimed is None:
            LOG.info("Execution %s is gone, final or claimed elsewhere; skipped", execution_id)
            return None, base.ExecutionRequest(execution_id)
        row, target = claimed
        if target is None:
            raise exceptions.NotFound(
                "The function of this execution (or its version) was deleted before it ran."
            )
        spec = self._runnable_spec(target)
        self.counts.add(target.function_id)
        return spec, self._request(execution_id, row.input, target)

    def _request(self, execution_id: str, raw_input: str | None, row) -> base.ExecutionRequest:
        """``row``: the function's columns as ``records.RUN_QUERY`` returns them."""
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

    def _package_path(self, digest: str | None) -> str | None:
        if not digest:
            return None
        path = self._storage.local_path(digest)
        if path is None:
            raise exceptions.NotFound("The function's package is missing from the store.")
        return path

    def _claim_and_read(self, conn, execution_id: str) -> tuple[Any, Any] | None:
        """The execution's row and its function's (None if gone), once
        claimed; None when another engine has it, or it is gone or final."""
        if not self._claim(conn, execution_id):
            return None
        row = conn.execute(records.EXECUTION_QUERY, {"id": execution_id}).first()
        if row is None:
            return None
        return row, self._claimed_target(conn, row.function_id, row.function_version, None)

    def _claim(self, conn, execution_id: str) -> bool:
        """Take an accepted execution for this engine, at most once overall.

        A redelivered or re-dispatched execution (see ``reaper``) may reach
        several engines; only the one whose conditional UPDATE matches runs it.
        """
        claimed = conn.execute(
            records.CLAIM,
            {"execution_id": execution_id, "now": models.utcnow(), "host": self.host},
        )
        return claimed.rowcount == 1

    def spec_for(self, function_id: str, version: int) -> base.FunctionSpec:
        with self.db.connection() as conn:
            target = run_target(conn, function_id, version, None)
        return self._runnable_spec(target)


def _read_target(conn, function_id: str, version: int | None) -> Any:
    """The function (version) with its runtime (``records.RUN_QUERY``); None if gone."""
    query = _RUN_VERSION if version else _RUN
    return query.first(conn, {"function_id": function_id, "version": version or 0})


_RUN = DirectStatement(records.RUN_QUERY)
_RUN_VERSION = DirectStatement(records.RUN_VERSION_QUERY)


def kept_lookups(db: Database) -> db_executions.Lookups:
    """The lookups of a function (``run_target``) and of an alias that
    answer from the rows ``db`` keeps (``db.run_targets``); (None, None)
    where it keeps none, for the caller's own defaults."""
    targets = db.run_targets
    if targets is None:
        return None, None
    return targets.wrap(run_target), targets.wrap_alias(db_executions.read_alias)


def _unscoped(conn, function_id: str, version: int, _scope: str | None) -> Any:
    """``_read_target`` as a ``db.executions.Lookup``: None if gone, any project."""
    return _read_target(conn, function_id, version)


def run_target(conn, function_id: str, version: int, scope: str | None) -> Any:
    """``db.executions.Lookup`` reading all that running the function needs."""
    target = _read_target(conn, function_id, version)
    if target is None or (scope is not None and target.project_id != scope):
        db_executions.check_visible(conn, function_id, version, scope)
    return target
