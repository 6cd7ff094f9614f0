"""The contract between the engine and whatever runs functions.

The engine is the only caller. A driver never touches the database: everything
it needs arrives in the arguments below, and everything it learns goes back in
return values. Drivers load through stevedore from the ``qinling.orchestrator``
namespace and are chosen by ``[engine] orchestrator``.

Threading: the engine calls a driver from many threads at once (one per
execution in flight, plus periodic tasks). Every method must be safe to call
concurrently.

Ownership: a driver owns its workers. Whatever it starts (processes, cgroups,
namespaces, mounts, pods, temp dirs) it must clean up in ``delete_function``,
``scale_down``, ``reap_idle`` and ``stop``; the engine never does.
"""

from __future__ import annotations

import abc
import dataclasses
import enum
from typing import Any

# The output of an execution stopped by ``Orchestrator.cancel_execution``.
CANCELLED_OUTPUT = "Execution cancelled."


# What every driver answers when a function outlives its timeout (Qinling's text).
TIMEOUT_OUTPUT = "Function execution timeout."


class WorkerState(enum.StrEnum):
    """What a worker is doing; the driver moves workers between these."""

    STARTING = "starting"
    IDLE = "idle"
    BUSY = "busy"
    STOPPING = "stopping"


@dataclasses.dataclass(frozen=True)
class RuntimeSpec:
    """A runtime as the orchestrator needs it.

    ``image`` names a runtime definition: a local runtime definition
    (``python3``, ``nodejs``) for the local driver, a container image for
    Kubernetes.
    """

    id: str
    image: str
    trusted: bool = True


@dataclasses.dataclass(frozen=True)
class FunctionSpec:
    """One function version, everything needed to start a worker for it.

    ``version`` is 0 for the function's latest code. ``package_path`` is a
    local zip file that the driver may read but must not change or delete;
    ``package_digest`` changes whenever the code changes, so a driver can key
    prepared (extracted) packages on it. Limits are already validated by the
    API: ``memory_size`` in bytes, ``cpu`` in millicpu, ``timeout`` in seconds.
    """

    function_id: str
    version: int
    runtime: RuntimeSpec
    package_path: str | None
    package_digest: str | None
    entry: str = "main.main"
    memory_size: int = 33554432
    cpu: int = 100
    timeout: int = 5
    environment: dict[str, str] = dataclasses.field(default_factory=dict)
    concurrency: int = 10
    project_id: str = ""

    @property
    def key(self) -> tuple[str, int]:
        return (self.function_id, self.version)


@dataclasses.dataclass(frozen=True)
class ExecutionRequest:
    """One call of a function.

    ``input`` is what the function receives: a dict becomes keyword
    arguments, anything else is passed as one positional argument.
    ``context`` is handed to the function as its ``context`` argument.
    """

    execution_id: str
    input: Any = None
    context: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class ExecutionResult:
    """What came back from one execution.

    ``success`` is False for the function's own faults (an exception, the
    timeout, a limit); ``platform_error`` is set instead when the platform
    failed (a worker could not start, died for reasons of its own, ...). The
    engine maps the first to ``failed`` and the second to ``error``.
    """

    success: bool
    output: Any = None
    duration: float = 0.0
    logs: str = ""
    cold_start: bool = False
    init_duration: float | None = None
    memory_peak: int | None = None
    platform_error: str | None = None
    worker_name: str | None = None


@dataclasses.dataclass(frozen=True)
class WorkerInfo:
    """A worker as ``list_workers`` reports it."""

    name: str
    function_id: str
    version: int
    state: WorkerState
    # Where the worker can be reached by others than the driver (a pod's
    # address); None where only the driver holds a connection to it (local).
    address: str | None = None


@dataclasses.dataclass(frozen=True)
class PoolInfo:
    """The capacity of one runtime's pool, for ``GET /v1/runtimes/{id}/pool``.

    ``total`` is how many workers the pool can hold, ``available`` how many
    more it can start now. ``warnings`` carries anything an operator must see,
    such as an unsafe development mode.
    """

    name: str
    total: int
    available: int
    workers: int = 0
    warnings: tuple[str, ...] = ()


class Orchestrator(abc.ABC):
    """Runs function code in workers; see the module docstring for threading."""

    @abc.abstractmethod
    def start(self) -> None:
        """Prepare the host (check isolation, set up pools' shared state).

        Raise ``qinling.exceptions.OrchestratorError`` with an operator-facing
        message when the host cannot run functions as configured. Called once,
        before any other method.
        """

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop every worker and release everything the driver created.

        Idempotent. After ``stop`` returns, no process, cgroup, mount or temp
        dir of the driver's is left on the host.
        """

    @abc.abstractmethod
    def create_pool(self, runtime: RuntimeSpec) -> None:
        """Make a runtime ready to start workers (e.g. start its zygote).

        Idempotent: creating an existing pool is a no-op. Raise
        ``OrchestratorError`` when the runtime's image is unknown or broken;
        the message is stored as the runtime's status reason.
        """

    @abc.abstractmethod
    def update_pool(self, runtime: RuntimeSpec) -> None:
        """Switch a runtime to a new image; workers of the old one retire."""

    @abc.abstractmethod
    def delete_pool(self, runtime_id: str) -> None:
        """Stop a runtime's pool and all its workers. Idempotent."""

    @abc.abstractmethod
    def get_pool(self, runtime_id: str) -> PoolInfo:
        """Capacity of a runtime's pool. Raise ``NotFound`` if there is none."""

    @abc.abstractmethod
    def run_execution(self, spec: FunctionSpec, request: ExecutionRequest) -> ExecutionResult:
        """Run one execution on a warm worker, starting one if needed.

        Blocks until the function returns, fails or times out; never longer
        than ``spec.timeout`` plus the driver's start-up and queueing margins.
        On timeout the worker's whole process tree is killed, the result has
        ``success=False`` and output ``"Function execution timeout."``. A
        worker whose function timed out, ran out of memory or died is
        replaced; the driver cleans it up. Platform faults come back as
        ``platform_error``, never as exceptions, except ``OrchestratorError``
        for a pool that does not exist.
        """

    @abc.abstractmethod
    def cancel_execution(self, execution_id: str) -> bool:
        """Stop an execution this driver is running, at once.

        Returns True when the execution was in this driver's hands (waiting
        for a worker or running on one) and False otherwise: not started yet,
        already over, or run by another engine. A cancel of an execution not
        in hand is remembered for a while (``early_cancels``): its engine may
        have claimed it and be about to call ``run_execution``, which then
        returns cancelled at once, without a worker. The worker running it is
        killed with its whole process tree and replaced, as after a timeout;
        an execution still waiting for a worker never gets one. Either way
        its ``run_execution`` returns soon after, with ``success=False`` and
        output ``CANCELLED_OUTPUT``. The engine records the
        ``cancelled`` state itself before calling this; the driver only stops
        the work. Idempotent; safe to call from any thread.
        """

    @abc.abstractmethod
    def scale_up(self, spec: FunctionSpec, count: int) -> list[WorkerInfo]:
        """Start ``count`` more warm workers for a function version."""

    @abc.abstractmethod
    def scale_down(self, function_id: str, version: int, count: int) -> int:
        """Stop up to ``count`` idle workers; returns how many were stopped.

        Busy workers are never interrupted.
        """

    @abc.abstractmethod
    def delete_function(self, function_id: str, version: int | None = None) -> None:
        """Stop a function's workers (all versions when ``version`` is None).

        Idempotent. Busy workers finish their execution first, then stop.
        Used by ``detach``, by code updates and by function deletion.
        """

    @abc.abstractmethod
    def list_workers(self, function_id: str, version: int | None = None) -> list[WorkerInfo]:
        """The function's current workers (all versions when None)."""

    @abc.abstractmethod
    def reap_idle(self, max_idle_seconds: float) -> int:
        """Stop workers idle for longer than ``max_idle_seconds``.

        Called periodically by the engine; returns how many were stopped.
        """
