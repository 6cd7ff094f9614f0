"""The local orchestrator: sandboxed workers on this host.

The flow of executions and scaling lives here; the bookkeeping of workers
is ``table``'s, the runtimes' zygotes ``pools``', starting and stopping
workers ``Launcher``'s, one run on a worker ``runs``', the host's
preparation ``host``'s, the sandbox itself ``_sandbox``'s. One lock (the
table's) guards all bookkeeping and is never held while a process starts,
runs or stops. Each function version has its ``Slots``, whose condition
variable queues executions waiting for a worker.
"""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import time
from concurrent import futures

from oslo_config import cfg

from qinling import exceptions
from qinling.orchestrator import base
from qinling.orchestrator.early_cancels import EarlyCancels
from qinling.orchestrator.local import cgroups, host, packages, runs, runtimes, spares
from qinling.orchestrator.local.launcher import Launcher
from qinling.orchestrator.local.leases import Lending, Loan
from qinling.orchestrator.local.pools import NoPool, Pool, Pools
from qinling.orchestrator.local.settings import Settings
from qinling.orchestrator.local.table import Slots, WorkerTable
from qinling.orchestrator.local.worker import Worker

LOG = logging.getLogger(__name__)

# Worker starts a scale_up runs at once. Each mostly waits for its worker to
# import the function; more than a few per core only queue at the zygote.
_PARALLEL_STARTS = 8
# How long scale_down waits for workers lent to API processes to come back.
_SCALE_DOWN_RECALL_WAIT = 1.0

_instances = itertools.count(1)


class _Refused(Exception):
    """The execution cannot get a worker; the message is for the user."""


class _Cancelled(Exception):
    """The execution was cancelled while it waited for a worker."""


class LocalOrchestrator(base.Orchestrator):
    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self.settings = Settings.from_conf(conf)
        self._table = WorkerTable(self.settings.max_workers)
        # One lock for the table, the pools and the executions in hand.
        self._lock = self._table.lock
        self._pools = Pools(self._lock, self.settings)
        # Workers lent to API processes (``leases``), given back through here.
        self.lending = Lending(release=lambda worker, broken: self._release(worker, broken, None))
        self._definitions: dict[str, runtimes.RuntimeDefinition] = {}
        self._warnings: tuple[str, ...] = ()
        self._launcher: Launcher | None = None
        self._spares: spares.SpareKeeper | None = None
        self._cgroups: cgroups.DriverCgroups | None = None
        self._instance_dir: str | None = None
        self._stopped = False
        # Executions in run_execution -> the worker running them (None: waiting).
        self._running: dict[str, Worker | None] = {}
        self._cancelled: set[str] = set()
        self._early_cancels = EarlyCancels()

    # -- life cycle -------------------------------------------------------

    def start(self) -> None:
        host.raise_open_files_limit()
        layout = cgroups.detect()
        isolate, self._warnings = host.isolation(
            layout, unsafe_allowed=self.settings.unsafe_development_mode
        )
        self._definitions = runtimes.load_definitions(self.settings.runtimes_dir)
        self._instance_dir = host.instance_dir(self.settings.work_dir)
        if isolate and layout is not None:
            for path in cgroups.sweep_abandoned(layout):
                LOG.info("Removed the cgroup of a driver that is gone: %s", path)
            self._cgroups = cgroups.DriverCgroups(
                layout, f"qinling-{os.getpid()}-{next(_instances)}"
            )
            try:
                self._cgroups.create()
            except OSError as exc:
                self._cgroups.remove()
                raise exceptions.OrchestratorError(
                    f"Cannot create the driver's cgroups in {layout.describe()}: {exc}"
                ) from exc
        self._launcher = Launcher(
            self.settings,
            instance_dir=self._instance_dir,
            driver_cgroups=self._cgroups,
            isolate=isolate,
        )
        self._spares = spares.SpareKeeper(self._launcher, self.settings.spare_workers)
        self._pools.open(self._definitions, self._instance_dir, self._spares)
        LOG.info(
            "Local orchestrator started (%s, runtimes: %s)",
            layout.describe() if isolate and layout else "no isolation",
            ", ".join(sorted(self._definitions)),
        )

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            self.lending.book.take_all()  # their workers are among these
            workers = self._table.clear()
            pools = self._pools.close_locked()
        if self._spares is not None:
            self._spares.stop()
        self._stop_workers(workers)
        for pool in pools:
            pool.zygote.stop()
        if self._cgroups is not None:
            self._cgroups.remove()
            self._cgroups = None
        if self._instance_dir:
            shutil.rmtree(self._instance_dir, ignore_errors=True)
        self._instance_dir = None

    # -- pools ------------------------------------------------------------

    def create_pool(self, runtime: base.RuntimeSpec) -> None:
        if not self._pools.create(runtime):  # there, with another image
            self.update_pool(runtime)

    def update_pool(self, runtime: base.RuntimeSpec) -> None:
        old = self._pools.replace(runtime)
        self._retire_pool(runtime.id, old)

    def delete_pool(self, runtime_id: str) -> None:
        old = self._pools.remove(runtime_id)
        self._retire_pool(runtime_id, old)

    def _retire_pool(self, runtime_id: str, old: Pool | None) -> None:
        """Stop the workers of a runtime's replaced or removed pool, then its zygote."""
        with self._lock:
            doomed = self._table.retire(lambda w: w.runtime_id == runtime_id)
        self._stop_workers(doomed)
        if old is not None:
            old.zygote.stop()

    def get_pool(self, runtime_id: str) -> base.PoolInfo:
        with self._lock:
            if not self._pools.has_locked(runtime_id):
                raise exceptions.NotFound.of("Runtime pool", runtime_id)
            everything = self._table.workers()
        ours = sum(1 for w in everything if w.runtime_id == runtime_id)
        total = self.settings.max_workers
        return base.PoolInfo(
            name=runtime_id,
            total=total,
            available=max(0, total - len(everything)),
            workers=ours,
            warnings=self._warnings,
        )

    # -- executions -------------------------------------------------------

    def run_execution(
        self,
        spec: base.FunctionSpec,
        request: base.ExecutionRequest,
        *,
        loan: Loan | None = None,
    ) -> base.ExecutionResult:
        """``loan``: lend the worker to ``loan.holder`` afterwards (``leases``)."""
        # The driver's lock is taken twice on the warm path (acquire, release):
        # under load every taking is a thread switch (measured at 32 at once).
        execution_id = request.execution_id
        try:
            worker, cold = self._acquire(spec, execution_id)
        except BaseException as exc:
            self._forget(execution_id)
            return _unrunnable(execution_id, exc)
        broken = True
        try:
            if cold and self._cancelled_at_start(execution_id, worker):
                broken = False
                return base.ExecutionResult(success=False, output=base.CANCELLED_OUTPUT)
            result, broken = runs.run_on(
                worker,
                spec,
                request,
                cold=cold,
                was_cancelled=lambda: self._was_cancelled(execution_id),
            )
            return result
        finally:
            if loan is None or broken or not self._lend(worker, execution_id, loan):
                self._release(worker, broken, execution_id)
            if cold and self._spares is not None:
                self._spares.replenish()

    def cancel_execution(self, execution_id: str) -> bool:
        lent = self.lending.book.running(execution_id)
        if lent is not None:  # its holder's run then fails and gives it back
            LOG.info("Execution %s cancelled: killing lent worker %s", execution_id, lent.name)
            lent.kill()
            return True
        with self._lock:
            if execution_id not in self._running:
                self._early_cancels.remember(execution_id)
                return False
            self._cancelled.add(execution_id)
            worker = self._running[execution_id]
            self._table.wake_all()  # a waiter for a worker gives up
        if worker is not None:
            LOG.info("Execution %s cancelled: killing worker %s", execution_id, worker.name)
            worker.kill()
        return True

    def _cancelled_at_start(self, execution_id: str, worker: Worker) -> bool:
        """Note the worker a cold start gave; whether a cancel came meanwhile."""
        with self._lock:
            self._running[execution_id] = worker
            return execution_id in self._cancelled

    def _forget(self, execution_id: str) -> None:
        with self._lock:
            self._forget_locked(execution_id)

    def _forget_locked(self, execution_id: str) -> None:
        self._running.pop(execution_id, None)
        self._cancelled.discard(execution_id)

    def _was_cancelled(self, execution_id: str) -> bool:
        with self._lock:
            return execution_id in self._cancelled

    def _acquire(self, spec: base.FunctionSpec, execution_id: str) -> tuple[Worker, bool]:
        """A worker for the execution, and whether it was started for it
        (cold); the execution is then known as running (``cancel_execution``).

        Raises ``_Refused``, ``_Cancelled``, ``OrchestratorError`` or
        ``packages.PackageError`` when it cannot have one.
        """
        deadline = time.monotonic() + self.settings.queue_wait_timeout
        doomed: list[Worker] = []
        try:
            with self._lock:
                self._running[execution_id] = None
                if self._early_cancels.take(execution_id):
                    raise _Cancelled()
                pool = self._pools.get_locked(spec.runtime.id)
                _check_memory(spec, pool)
                slots = self._table.slots_for(spec, doomed)
                queued = False
                while True:
                    if self._stopped:
                        raise _Refused("The orchestrator is stopping.")
                    if execution_id in self._cancelled:
                        raise _Cancelled()
                    worker = self._table.take_idle(slots, pool.generation, doomed)
                    if worker is not None:
                        self._running[execution_id] = worker
                        return worker, False
                    if self._table.may_start(slots, spec, doomed):
                        slots.starting += 1
                        break
                    if not queued and slots.waiting >= self.settings.max_queued_executions:
                        raise _Refused(runs.queue_full_message(spec, self.settings))
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise _Refused(runs.queue_timeout_message(spec, self.settings))
                    queued = True
                    # A worker lent to an API process may be idle there.
                    self.lending.recall(None if self._table.may_grow(slots, spec) else spec.key)
                    slots.waiting += 1
                    try:
                        slots.ready.wait(remaining)
                    finally:
                        slots.waiting -= 1
        finally:
            self._stop_workers(doomed)
        return self._start_worker(spec, pool, slots, base.WorkerState.BUSY), True

    def _start_worker(
        self, spec: base.FunctionSpec, pool: Pool, slots: Slots, state: base.WorkerState
    ) -> Worker:
        assert self._launcher is not None and self._spares is not None
        try:
            package = self._launcher.prepare_package(spec)
            spare = self._spares.take(pool.runtime.id, pool.generation)
            worker = self._launcher.start(
                spec,
                pool.definition,
                pool.zygote,
                pool.generation,
                package,
                spare,
                network=self._network_to_join(slots),
            )
        except BaseException:
            with self._lock:
                slots.starting -= 1
                slots.forget_network_if_unused()
                slots.ready.notify()
            self._spares.replenish()
            raise
        # None taken above (the kernel refused one): this worker's own, if any.
        network = self._launcher.network_of(worker) if slots.network is None else None
        with self._lock:
            slots.starting -= 1
            worker.state = state
            slots.workers.append(worker)
            slots.keep_network(network)
            stopped = self._stopped
        if stopped:
            self._stop_workers([worker])
            raise _Refused("The orchestrator is stopping.")
        LOG.debug("Worker %s started in %.1f ms", worker.name, (worker.init_duration or 0) * 1000)
        return worker

    def _network_to_join(self, slots: Slots) -> int | None:
        """The network namespace a starting worker is to join (``networks``);
        None where workers have none of their own (egress allowed, no
        isolation). The version's first start takes a spare one, so
        that the starts under way with it join the same one (a burst of 64
        cold starts made 64 before). The descriptor stays open while this
        start counts in ``slots.starting``.
        """
        assert self._spares is not None
        if slots.network is None:
            with slots.making_network:
                if slots.network is None:
                    made = self._spares.take_network()
                    with self._lock:
                        slots.network = made
        return slots.network

    def _release(self, worker: Worker, broken: bool, execution_id: str | None) -> None:
        """``execution_id``: the run it ends here; None for a worker given
        back by an API process, whose runs were never in hand here."""
        with self._lock:
            if execution_id is not None:
                self._forget_locked(execution_id)
            slots = self._table.get(worker.key)
            keep = not (broken or worker.retiring or self._stopped) and slots is not None
            if keep and slots is not None:
                worker.state = base.WorkerState.IDLE
                worker.last_used = time.monotonic()
                slots.ready.notify()
                return
            self._table.remove(worker)
        self._stop_workers([worker])

    # -- workers lent to API processes (``leases``) -----------------------

    def _lend(self, worker: Worker, execution_id: str, loan: Loan) -> bool:
        """Lend the worker that ran ``execution_id`` (it stays busy here),
        unless executions here wait for one of its function version: they
        take it instead. Lent, it would be recalled for them at once (at 32
        clients on a function's 10 workers, 8,000 recalls in 14 s)."""
        with self._lock:
            self._forget_locked(execution_id)
            slots = self._table.get(worker.key)
            if worker.retiring or self._stopped or slots is None or slots.waiting:
                return False
            loan.lease = self.lending.book.lend(worker, loan.holder)
        return True

    # -- scaling ----------------------------------------------------------

    def scale_up(self, spec: base.FunctionSpec, count: int) -> list[base.WorkerInfo]:
        """Start up to ``count`` workers, several at once: each start mostly
        waits for its worker to import the function, so one at a time would
        leave the cores idle (measured here: 85 workers/s one by one).
        They share one network namespace (``_network_to_join``)."""
        pool = self._pools.get(spec.runtime.id)
        reserved = self._reserve_starts(spec, count)
        if not reserved:
            return []
        slots, allowed = reserved
        with futures.ThreadPoolExecutor(min(allowed, _PARALLEL_STARTS)) as starters:
            starts = [
                starters.submit(self._scale_up_one, spec, pool, slots) for _ in range(allowed)
            ]
        started, failures = [], []
        for start in starts:
            try:
                started.append(start.result().info())
            except (packages.PackageError, _Refused) as exc:
                failures.append(exc)
        if failures and not started:
            raise exceptions.OrchestratorError(str(failures[0])) from failures[0]
        for failure in failures:
            LOG.warning("Function %s: a worker did not start: %s", spec.function_id, failure)
        return started

    def _reserve_starts(self, spec: base.FunctionSpec, count: int) -> tuple[Slots, int] | None:
        """Count up to ``count`` starts as under way; how many the limits allow."""
        doomed: list[Worker] = []
        allowed = 0
        with self._lock:
            slots = self._table.slots_for(spec, doomed)
            while allowed < count and self._table.may_start(slots, spec, doomed):
                slots.starting += 1
                allowed += 1
        self._stop_workers(doomed)
        return (slots, allowed) if allowed else None

    def _scale_up_one(self, spec: base.FunctionSpec, pool: Pool, slots: Slots) -> Worker:
        try:
            return self._start_worker(spec, pool, slots, base.WorkerState.IDLE)
        finally:
            if self._spares is not None:
                self._spares.replenish()

    def scale_down(self, function_id: str, version: int, count: int) -> int:
        # Workers lent to API processes come back first (idle ones at once).
        self.lending.take_back((function_id, version), _SCALE_DOWN_RECALL_WAIT)
        with self._lock:
            doomed = self._table.least_used_idle((function_id, version), count)
        self._stop_workers(doomed)
        return len(doomed)

    def delete_function(self, function_id: str, version: int | None = None) -> None:
        with self._lock:
            doomed = self._table.forget_function(function_id, version)
        self._stop_workers(doomed)
        self.lending.recall_retiring()  # stopped when they come back

    def list_workers(self, function_id: str, version: int | None = None) -> list[base.WorkerInfo]:
        with self._lock:
            return [worker.info() for worker in self._table.of_function(function_id, version)]

    def reap_idle(self, max_idle_seconds: float) -> int:
        with self._lock:
            doomed = self._table.idle_before(time.monotonic() - max_idle_seconds)
        self._stop_workers(doomed)
        return len(doomed)

    # -- helpers ----------------------------------------------------------

    def _stop_workers(self, workers: list[Worker]) -> None:
        launcher = self._launcher
        if launcher is None or not workers:
            return
        for worker in workers:
            try:
                launcher.stop(worker)
            except Exception:  # one bad worker must not block the others
                LOG.exception("Could not stop worker %s", worker.name)
        with self._lock:  # set aside where found unused: a start may need it next
            aside = [launcher.packages.set_aside(d) for d in self._table.discardable_packages()]
        for path in aside:
            launcher.packages.remove(path)


def _check_memory(spec: base.FunctionSpec, pool: Pool) -> None:
    if spec.memory_size < pool.definition.min_memory:
        raise _Refused(
            f"The {pool.definition.name} runtime needs at least "
            f"{runs.mib(pool.definition.min_memory)} of memory; the function has "
            f"{runs.mib(spec.memory_size)}."
        )


def _unrunnable(execution_id: str, exc: BaseException) -> base.ExecutionResult:
    """How an execution that got no worker ended (re-raises what is not ours)."""
    if isinstance(exc, _Cancelled):
        return base.ExecutionResult(success=False, output=base.CANCELLED_OUTPUT)
    if isinstance(exc, _Refused):
        return base.ExecutionResult(success=False, output=str(exc))
    if isinstance(exc, packages.PackageError):
        return base.ExecutionResult(success=False, output=exc.message)
    if isinstance(exc, exceptions.OrchestratorError) and not isinstance(exc, NoPool):
        LOG.error("Execution %s: %s", execution_id, exc.message)
        return base.ExecutionResult(success=False, platform_error=exc.message)
    raise exc
