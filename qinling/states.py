"""Every state machine of the service, with its allowed transitions."""

from __future__ import annotations

import enum

from qinling import exceptions


class RuntimeStatus(enum.StrEnum):
    CREATING = "creating"
    AVAILABLE = "available"
    UPGRADING = "upgrading"
    ERROR = "error"
    DELETING = "deleting"


class ExecutionStatus(enum.StrEnum):
    RUNNING = "running"
    SUCCESS = "success"
    FAILED = "failed"  # the function's fault: exception, timeout, a limit
    ERROR = "error"  # the platform's fault
    CANCELLED = "cancelled"


class JobStatus(enum.StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"
    ERROR = "error"


FINAL_EXECUTION_STATES = frozenset(
    {
        ExecutionStatus.SUCCESS,
        ExecutionStatus.FAILED,
        ExecutionStatus.ERROR,
        ExecutionStatus.CANCELLED,
    }
)

RUNTIME_TRANSITIONS: dict[RuntimeStatus, frozenset[RuntimeStatus]] = {
    RuntimeStatus.CREATING: frozenset({RuntimeStatus.AVAILABLE, RuntimeStatus.ERROR}),
    RuntimeStatus.AVAILABLE: frozenset({RuntimeStatus.UPGRADING, RuntimeStatus.DELETING}),
    RuntimeStatus.UPGRADING: frozenset({RuntimeStatus.AVAILABLE, RuntimeStatus.ERROR}),
    RuntimeStatus.ERROR: frozenset(
        {RuntimeStatus.UPGRADING, RuntimeStatus.CREATING, RuntimeStatus.DELETING}
    ),
    RuntimeStatus.DELETING: frozenset(),
}

EXECUTION_TRANSITIONS: dict[ExecutionStatus, frozenset[ExecutionStatus]] = {
    ExecutionStatus.RUNNING: FINAL_EXECUTION_STATES,
    ExecutionStatus.SUCCESS: frozenset(),
    ExecutionStatus.FAILED: frozenset(),
    ExecutionStatus.ERROR: frozenset(),
    ExecutionStatus.CANCELLED: frozenset(),
}

JOB_TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.RUNNING: frozenset(
        {JobStatus.PAUSED, JobStatus.DONE, JobStatus.CANCELLED, JobStatus.ERROR}
    ),
    JobStatus.PAUSED: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED}),
    JobStatus.ERROR: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED}),
    JobStatus.DONE: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}


def check_transition(table: dict, current: str, target: str, *, what: str) -> None:
    """Raise Conflict unless ``current -> target`` is allowed by ``table``."""
    if current == target:
        return
    allowed = table.get(type(next(iter(table)))(current), frozenset())
    if target not in allowed:
        raise exceptions.Conflict(
            f"{what} cannot go from '{current}' to '{target}'; allowed from "
            f"'{current}': {', '.join(sorted(allowed)) or 'none (final state)'}."
        )
