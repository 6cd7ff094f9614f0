"""The execution records the engine reads and writes on every execution.

Core statements, prepared once: this is the warm path, where the ORM's cost
per statement would dominate.
"""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

import sqlalchemy as sa

from qinling import states
from qinling.db import executions as db_executions
from qinling.db import models
from qinling.db.session import Database
from qinling.orchestrator import base

LOG = logging.getLogger(__name__)

# Results and logs beyond these are cut, with a note saying so.
MAX_LOG_CHARS = 1024 * 1024
MAX_OUTPUT_CHARS = 1024 * 1024

EXECUTIONS = models.Execution.__table__
FUNCTIONS = models.Function.__table__
VERSIONS = models.FunctionVersion.__table__
RUNTIMES = models.Runtime.__table__

CLAIM = (
    sa.update(EXECUTIONS)
    .where(
        EXECUTIONS.c.id == sa.bindparam("execution_id"),
        EXECUTIONS.c.status == states.ExecutionStatus.RUNNING,
        EXECUTIONS.c.started_at.is_(None),
    )
    .values(
        started_at=sa.bindparam("now"),
        updated_at=sa.bindparam("now"),
        engine_host=sa.bindparam("host"),
    )
)
# What the engine needs of an execution it has claimed (its function: RUN_QUERY).
EXECUTION_QUERY = sa.select(
    EXECUTIONS.c.input, EXECUTIONS.c.function_id, EXECUTIONS.c.function_version
).where(EXECUTIONS.c.id == sa.bindparam("id"))


def _run_columns(source: sa.Table) -> tuple:
    """What running a function (``source``: its table, or its versions')
    needs, in the shape ``specs.function_spec`` reads: one row serves as the
    function, the source and the runtime."""
    return (
        FUNCTIONS.c.id.label("function_id"),
        sa.bindparam("version", type_=sa.Integer).label("function_version"),
        FUNCTIONS.c.project_id,
        FUNCTIONS.c.concurrency,
        FUNCTIONS.c.trust_id,
        source.c.runtime_id,
        source.c.package_digest,
        source.c.entry,
        source.c.memory_size,
        source.c.cpu,
        source.c.timeout,
        source.c.environment,
        RUNTIMES.c.id,
        RUNTIMES.c.image,
        RUNTIMES.c.trusted,
        RUNTIMES.c.status.label("runtime_status"),
    )


# A function or one of its versions with its runtime, in one statement: the
# warm path of a sync execution reads nothing else before running it.
RUN_QUERY = (
    sa.select(*_run_columns(FUNCTIONS))
    .select_from(FUNCTIONS.outerjoin(RUNTIMES, RUNTIMES.c.id == FUNCTIONS.c.runtime_id))
    .where(FUNCTIONS.c.id == sa.bindparam("function_id"))
)
RUN_VERSION_QUERY = (
    sa.select(*_run_columns(VERSIONS))
    .select_from(
        VERSIONS.join(FUNCTIONS, FUNCTIONS.c.id == VERSIONS.c.function_id).outerjoin(
            RUNTIMES, RUNTIMES.c.id == VERSIONS.c.runtime_id
        )
    )
    .where(
        VERSIONS.c.function_id == sa.bindparam("function_id"),
        VERSIONS.c.version_number == sa.bindparam("version"),
    )
)
COUNT_ADD = (
    sa.update(FUNCTIONS)
    .where(FUNCTIONS.c.id == sa.bindparam("function_id"))
    .values(count=FUNCTIONS.c.count + sa.bindparam("n"))
)


# The columns set are those of the parameters: one statement serves the
# run's end, a cancel and the reaper, each compiled once and cached.
END_RUNNING = sa.update(EXECUTIONS).where(
    EXECUTIONS.c.id == sa.bindparam("execution_id"),
    EXECUTIONS.c.status == states.ExecutionStatus.RUNNING,
)


def end_running(conn: sa.Connection, execution_id: str, **values: Any) -> bool:
    """Record how an execution ended, unless it already has.

    The one conditional UPDATE that decides every race over an execution's
    end: its run finishing, a cancel, the reaper. False: another won.
    """
    ended = conn.execute(END_RUNNING, {"execution_id": execution_id, **values})
    return ended.rowcount == 1


def decode_input(raw: str | None) -> Any:
    """Qinling's rule: a JSON object becomes keyword arguments, anything else
    is handed over as the one string the caller sent."""
    if raw is None or raw == "":
        return None
    try:
        decoded = json.loads(raw)
    except ValueError:
        return raw
    return decoded if isinstance(decoded, dict) else raw


def cap(text: str | None, limit: int) -> str:
    text = text or ""
    if len(text) <= limit:
        return text
    return text[:limit] + f"\n[... cut: the log was {len(text)} characters, {limit} are kept]"


def encode_result(output: Any, duration: float) -> str:
    encoded = json.dumps({"duration": round(duration, 3), "output": output})
    if len(encoded) > MAX_OUTPUT_CHARS:
        note = f"[output cut: it was {len(encoded)} characters, more than {MAX_OUTPUT_CHARS}]"
        encoded = json.dumps({"duration": round(duration, 3), "output": note})
    return encoded


def ending(result: base.ExecutionResult) -> dict[str, Any]:
    """The columns that record how a run ended (``ended_values``)."""
    if result.platform_error:
        status = states.ExecutionStatus.ERROR
        output: Any = result.platform_error
    else:
        status = states.ExecutionStatus.SUCCESS if result.success else states.ExecutionStatus.FAILED
        output = result.output
    return ended_values(
        status,
        output=output,
        duration=result.duration,
        logs=result.logs,
        cold_start=result.cold_start,
        init_duration=result.init_duration,
        memory_peak=result.memory_peak,
    )


def ended_values(
    status: states.ExecutionStatus,
    *,
    output: Any,
    duration: float = 0.0,
    logs: str = "",
    **extra: Any,
) -> dict[str, Any]:
    """The columns of an execution that ended so (``finished_at`` is now)."""
    finished_at = models.utcnow()
    return dict(
        status=status,
        result=encode_result(output, duration),
        logs=cap(logs, MAX_LOG_CHARS),
        duration=round(duration, 6),
        finished_at=finished_at,
        updated_at=finished_at,
        **extra,
    )


def outcome_of(values: dict[str, Any]) -> dict[str, Any]:
    """What callers get back of a recorded end: JSON-safe, for RPC, no logs."""
    outcome = {k: v for k, v in values.items() if k not in ("logs", "finished_at")}
    return outcome | {
        "status": str(values["status"]),
        "updated_at": values["updated_at"].isoformat(),
    }


_WIRE_TIMES = ("created_at", "started_at", "updated_at", "finished_at")


def row_to_wire(row: dict[str, Any]) -> dict[str, Any]:
    """A new execution's row (``db.executions.new_execution``), JSON-safe for RPC."""
    return row | {k: row[k].isoformat() for k in _WIRE_TIMES if row.get(k) is not None}


def row_from_wire(fields: dict[str, Any]) -> dict[str, Any]:
    times = {k: datetime.datetime.fromisoformat(fields[k]) for k in _WIRE_TIMES if fields.get(k)}
    return fields | times


def record(db: Database, execution_id: str, result: base.ExecutionResult) -> dict[str, Any] | None:
    """Record how a run ended (see ``finish``)."""
    return update_ended(db, execution_id, ending(result))


def finish(
    db: Database,
    execution_id: str,
    status: states.ExecutionStatus,
    *,
    output: Any,
    duration: float = 0.0,
    logs: str = "",
    **extra: Any,
) -> dict[str, Any] | None:
    """End a running execution; the recorded fields (JSON-safe, for RPC
    callers), or None when it had already ended (a cancel, the reaper)."""
    values = ended_values(status, output=output, duration=duration, logs=logs, **extra)
    return update_ended(db, execution_id, values)


def write_ended(db: Database, row: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Insert an execution that was never written, as it ended (``row``: from
    ``db.executions.new_execution``, ``values``: from ``ended_values``)."""
    db.write(lambda conn: db_executions.insert(conn, row | values), one_statement=True)
    _log_end(row["id"], values["status"])
    return outcome_of(values)


def write_error(db: Database, row: dict[str, Any], message: str) -> dict[str, Any]:
    """``write_ended`` of an execution that did not run: a platform error."""
    return write_ended(db, row, ending(base.ExecutionResult(success=False, platform_error=message)))


def update_ended(db: Database, execution_id: str, values: dict[str, Any]) -> dict[str, Any] | None:
    """End a running execution with ``values`` (from ``ended_values``); None
    when it had already ended (a cancel, the reaper)."""
    ended = db.write(lambda conn: end_running(conn, execution_id, **values), one_statement=True)
    if not ended:
        LOG.info("Execution %s had already ended; %s not recorded", execution_id, values["status"])
        return None
    _log_end(execution_id, values["status"])
    return outcome_of(values)


def _log_end(execution_id: str, status: states.ExecutionStatus) -> None:
    # Its row is the record of an execution. A line per success would be
    # most of a busy host's log (900 a second here, 40-50 us each on the
    # warm path): successes at DEBUG, the others at INFO.
    level = logging.DEBUG if status == states.ExecutionStatus.SUCCESS else logging.INFO
    LOG.log(level, "Execution %s ended %s", execution_id, status)
