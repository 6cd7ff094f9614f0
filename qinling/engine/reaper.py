"""No execution stays ``running`` forever.

How an accepted execution can be orphaned, and what happens to it:

* never started: the cast was lost (no engine listened, the bus restarted)
  or the engine died before taking it. After ``[engine] pickup_timeout``
  any engine takes it and runs it (at-least-once for accepted executions;
  the claim in ``EngineManager._claim`` keeps it to one run at a time).
* started, never finished: the engine running it died. Once the function's
  timeout plus ``[engine] execution_grace`` has passed, it ends in ``error``
  with a message saying so; its output is unknown, so it is not re-run.
  An engine that restarts ends its own leftovers at once.
* started, still running when its engine shuts down (SIGTERM) and past the
  ``[engine] graceful_shutdown_timeout``: ended in ``error`` by that engine
  before it kills the worker.

Every change is a conditional UPDATE on ``status = running``, so several
engines can reap side by side.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Callable

import sqlalchemy as sa

from qinling import states
from qinling.db import models
from qinling.db.session import Database
from qinling.engine import records
from qinling.engine.records import encode_result
from qinling.engine.scheduler import Clock, utcnow

LOG = logging.getLogger(__name__)

ENGINE_DIED = (
    "The engine running this execution stopped before it finished (engine {host}); "
    "its result is unknown. Run it again if it is safe to repeat."
)
ENGINE_STOPPED = (
    "The engine running this execution was shut down and the execution did not finish "
    "within its {timeout} s shutdown deadline ([engine] graceful_shutdown_timeout; engine "
    "{host}); it was stopped. Run it again if it is safe to repeat."
)
ENGINE_RESTARTED = (
    "The engine running this execution restarted before it finished (engine {host}); "
    "its result is unknown. Run it again if it is safe to repeat."
)


class ExecutionReaper:
    def __init__(
        self,
        db: Database,
        run: Callable[[str], None],
        *,
        host: str,
        pickup_timeout: int,
        grace: int,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._run = run
        self._host = host
        self._pickup_timeout = datetime.timedelta(seconds=pickup_timeout)
        self._grace = grace
        self._clock = clock

    def end_own_leftovers(self) -> int:
        """At start-up: what this engine was running when it died is lost."""
        ended = self._end_own(ENGINE_RESTARTED)
        if ended:
            LOG.warning("Ended %d execution(s) this engine was running before it restarted", ended)
        return ended

    def end_interrupted(self, timeout: int) -> int:
        """At shutdown, once the drain deadline passed: what still runs here is stopped."""
        ended = self._end_own(ENGINE_STOPPED.replace("{timeout}", str(timeout)))
        if ended:
            LOG.warning("Ended %d execution(s) still running at the shutdown deadline", ended)
        return ended

    def _end_own(self, message: str) -> int:
        with self._db.transaction() as session:
            return session.execute(
                sa.update(models.Execution)
                .where(
                    models.Execution.status == states.ExecutionStatus.RUNNING,
                    models.Execution.engine_host == self._host,
                    models.Execution.started_at.is_not(None),
                )
                .values(**self._error(message))
                .execution_options(synchronize_session=False)
            ).rowcount

    def reap(self) -> int:
        return self._dispatch_unstarted() + self._end_abandoned()

    def _dispatch_unstarted(self) -> int:
        cutoff = self._clock() - self._pickup_timeout
        with self._db.transaction() as session:
            ids = list(
                session.scalars(
                    sa.select(models.Execution.id)
                    .where(
                        models.Execution.status == states.ExecutionStatus.RUNNING,
                        models.Execution.started_at.is_(None),
                        models.Execution.created_at < cutoff,
                    )
                    .limit(500)
                )
            )
        for execution_id in ids:
            LOG.warning("Execution %s was accepted but never started; running it now", execution_id)
            self._run(execution_id)
        return len(ids)

    def _end_abandoned(self) -> int:
        now = self._clock()
        with self._db.transaction() as session:
            candidates = session.execute(
                sa.select(
                    models.Execution.id,
                    models.Execution.started_at,
                    models.Execution.engine_host,
                    models.Function.timeout,
                )
                .join(
                    models.Function,
                    models.Function.id == models.Execution.function_id,
                    isouter=True,
                )
                .where(
                    models.Execution.status == states.ExecutionStatus.RUNNING,
                    models.Execution.started_at < now - datetime.timedelta(seconds=self._grace),
                )
            ).all()
        ended = 0
        for execution_id, started, host, timeout in candidates:
            limit = datetime.timedelta(seconds=(timeout or 0) + self._grace)
            if started + limit < now:
                ended += self._end(execution_id, ENGINE_DIED.format(host=host))
        return ended

    def _end(self, execution_id: str, message: str) -> int:
        values = self._error(message)
        return int(
            self._db.write(
                lambda conn: records.end_running(conn, execution_id, **values), one_statement=True
            )
        )

    def purge_finished(self, retention_days: int, batch: int = 1000) -> int:
        """Delete finished executions older than the retention period."""
        if retention_days <= 0:
            return 0
        cutoff = self._clock() - datetime.timedelta(days=retention_days)
        with self._db.transaction() as session:
            ids = list(
                session.scalars(
                    sa.select(models.Execution.id)
                    .where(
                        models.Execution.status.in_(list(states.FINAL_EXECUTION_STATES)),
                        models.Execution.created_at < cutoff,
                    )
                    .limit(batch)
                )
            )
            if ids:
                session.execute(
                    sa.delete(models.Execution)
                    .where(models.Execution.id.in_(ids))
                    .execution_options(synchronize_session=False)
                )
        if ids:
            LOG.info("Purged %d execution(s) older than %d days", len(ids), retention_days)
        return len(ids)

    def _error(self, message: str) -> dict:
        return {
            "status": states.ExecutionStatus.ERROR,
            "finished_at": self._clock(),
            "result": encode_result(message.format(host=self._host), 0.0),
        }
