"""One execution on one worker, and what the driver tells users when it cannot run."""

from __future__ import annotations

import logging
from collections.abc import Callable

from qinling.orchestrator import base
from qinling.orchestrator.local.settings import Settings
from qinling.orchestrator.local.worker import Worker, WorkerGone

LOG = logging.getLogger(__name__)


def run_on(
    worker: Worker,
    spec: base.FunctionSpec,
    request: base.ExecutionRequest,
    *,
    cold: bool,
    was_cancelled: Callable[[], bool],
) -> tuple[base.ExecutionResult, bool]:
    """The result, and whether the worker must be replaced."""
    result = base.ExecutionResult(
        success=False,
        cold_start=cold,
        init_duration=worker.init_duration if cold else None,
        worker_name=worker.name,
    )
    if worker.cgroup is not None:
        worker.cgroup.reset_memory_peak()
    message = {
        "execution_id": request.execution_id,
        "input": request.input,
        "context": request.context,
    }
    try:
        reply = worker.call(message, float(spec.timeout))
    except (TimeoutError, WorkerGone) as exc:
        worker.kill()
        if was_cancelled():
            result.output = base.CANCELLED_OUTPUT
        elif isinstance(exc, TimeoutError):
            LOG.info("Execution %s timed out on worker %s", request.execution_id, worker.name)
            result.output, result.duration = base.TIMEOUT_OUTPUT, float(spec.timeout)
        else:
            _explain_death(worker, request, result, exc)
        return result, True
    result.success = bool(reply.get("success"))
    result.output = reply.get("output")
    result.duration = float(reply.get("duration", 0.0))
    result.logs = (worker.load_logs if cold else "") + str(reply.get("logs", ""))
    if worker.cgroup is not None:
        result.memory_peak = worker.cgroup.memory_peak()
    # The Python agent says whether the function left its stdout and stderr
    # alone; others are checked from here.
    intact = reply.get("stdio_intact")
    if intact is False or (intact is None and not worker.stdio_intact()):
        LOG.info(
            "Execution %s closed its worker's stdout or stderr; replacing it",
            request.execution_id,
        )
        return result, True
    return result, False


def _explain_death(
    worker: Worker,
    request: base.ExecutionRequest,
    result: base.ExecutionResult,
    exc: Exception,
) -> None:
    if worker.cgroup is not None and worker.cgroup.oom_kills():
        result.output = (
            f"Function exceeded its memory limit of {mib(worker.memory_size)} and was killed."
        )
        result.memory_peak = worker.cgroup.memory_peak()
        return
    # Only the function runs in its worker while it executes: a worker
    # that dies then (os._exit, a crash, a closed socket) is its fault.
    message = (
        f"The worker running the function exited unexpectedly ({exc}): the function "
        "exited, crashed or closed the worker's connection. The worker was replaced."
    )
    LOG.warning("Execution %s: worker %s: %s", request.execution_id, worker.name, message)
    result.output = message


def queue_full_message(spec: base.FunctionSpec, settings: Settings) -> str:
    return (
        f"Too many executions of function {spec.function_id} (version {spec.version}): "
        f"all {spec.concurrency} workers its concurrency limit allows are busy and "
        f"{settings.max_queued_executions} executions are already waiting."
    )


def queue_timeout_message(spec: base.FunctionSpec, settings: Settings) -> str:
    return (
        f"No worker of function {spec.function_id} (version {spec.version}) became free "
        f"within {settings.queue_wait_timeout:g} s; all {spec.concurrency} workers its "
        "concurrency limit allows are busy."
    )


def mib(size: int) -> str:
    return f"{size / (1 << 20):g} MiB"
