"""The engine as a running service: orchestrator, periodic tasks, RPC server."""

from __future__ import annotations

import contextlib
import datetime
import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures

import oslo_messaging as messaging
import sqlalchemy as sa

from qinling import orchestrator as orchestrators
from qinling import rpc, states
from qinling.context import admin_context
from qinling.db import models
from qinling.db.session import Database
from qinling.engine import records, run_queue
from qinling.engine.data_socket import DataSocketServer, Lender
from qinling.engine.manager import EngineManager
from qinling.engine.reaper import ExecutionReaper
from qinling.engine.run_queue import Connect, RunQueueServer
from qinling.engine.scheduler import JobScheduler
from qinling.orchestrator.base import ExecutionResult, Orchestrator
from qinling.storage import PackageStore

LOG = logging.getLogger(__name__)

# After the drain deadline: how long killed executions get to record their end.
_AFTER_KILL_WAIT = 5.0
STOPPING_MESSAGE = "The engine was stopping and did not start this execution; run it again."


class Gate:
    """The manager as the RPC server and the in-process client reach it.

    It counts the executions in this engine's hands so that shutdown can wait
    for them, and once closed starts no more: an execution that arrives then
    is left unclaimed, for another engine's reaper (or this one's after a
    restart) to pick up after ``[engine] pickup_timeout``.
    """

    def __init__(self, manager: EngineManager) -> None:
        self._manager = manager
        self.target = manager.target
        self._idle = threading.Condition()
        self._in_flight = 0
        self._closed = False

    def __getattr__(self, name: str):
        return getattr(self._manager, name)

    def create_execution(self, ctx, execution_id: str):
        with self._running(execution_id) as admitted:
            return self._manager.create_execution(ctx, execution_id) if admitted else None

    def run_only(self, ctx, spec, request, *, loan=None):
        """Run an execution claimed at acceptance (``ExecutionLoader.load_claimed``)
        for a caller that records it (``ClaimingInvoker``); a stopping engine
        answers with a platform error instead of running it. ``loan``: see
        ``EngineManager.run_only``."""
        with self._running(request.execution_id) as admitted:
            if admitted:
                return self._manager.run_only(ctx, spec, request, loan=loan)
        return ExecutionResult(success=False, platform_error=STOPPING_MESSAGE)

    def run_recorded(self, ctx, execution, spec, request):
        """``EngineManager.run_recorded``; a stopping engine writes the
        execution as ended in error instead of running it."""
        with self._running(request["execution_id"]) as admitted:
            if admitted:
                return self._manager.run_recorded(ctx, execution, spec, request)
        refused = ExecutionResult(success=False, platform_error=STOPPING_MESSAGE)
        return self._manager.record_unrun(execution, refused)

    @contextlib.contextmanager
    def _running(self, execution_id: str) -> Iterator[bool]:
        with self._idle:
            if self._closed:
                LOG.info("Execution %s not started here: this engine is stopping", execution_id)
                admitted = False
            else:
                admitted = True
                self._in_flight += 1
        try:
            yield admitted
        finally:
            if admitted:
                with self._idle:
                    self._in_flight -= 1
                    self._idle.notify_all()

    def close(self) -> None:
        with self._idle:
            self._closed = True

    def wait_idle(self, timeout: float) -> int:
        """Wait until no execution runs here; how many still do at the timeout."""
        with self._idle:
            self._idle.wait_for(lambda: self._in_flight == 0, max(0.0, timeout))
            return self._in_flight


class EngineService:
    def __init__(
        self, conf, db: Database, storage: PackageStore, orchestrator: Orchestrator | None = None
    ) -> None:
        self.conf = conf
        self.db = db
        self.orchestrator = orchestrator or orchestrators.load(conf)
        self.manager = EngineManager(conf, db, self.orchestrator, storage)
        self.gate = Gate(self.manager)
        self._runs = futures.ThreadPoolExecutor(
            conf.engine.execution_threads, thread_name_prefix="engine-run"
        )
        self.scheduler = JobScheduler(db, self._run_async)
        self.reaper = ExecutionReaper(
            db,
            self._run_async,
            host=conf.engine.host,
            pickup_timeout=conf.engine.pickup_timeout,
            grace=conf.engine.execution_grace,
        )
        self._stopping = threading.Event()
        self._periodic: threading.Thread | None = None
        self._rpc_server: messaging.MessageHandlingServer | None = None
        self._data_socket: DataSocketServer | None = None
        self._run_queue: RunQueueServer | None = None

    def start(
        self, *, rpc_transport: messaging.Transport | None = None, serve_rpc: bool = False
    ) -> None:
        """Start the orchestrator, then listen (split mode), then restore pools.

        Listening before restoring means no runtime created meanwhile is missed.
        """
        self.orchestrator.start()
        self.reaper.end_own_leftovers()
        if serve_rpc:
            self.serve_rpc(rpc_transport)
        self._restore_pools()
        self._periodic = threading.Thread(
            target=self._run_periodic, name="engine-periodic", daemon=True
        )
        self._periodic.start()

    def _restore_pools(self) -> None:
        """Pools live in memory: bring back every runtime's after a restart."""
        with self.db.transaction() as session:
            ids = list(
                session.scalars(
                    sa.select(models.Runtime.id).where(
                        models.Runtime.status != states.RuntimeStatus.DELETING
                    )
                )
            )
        for runtime_id in ids:
            self.manager.create_runtime(admin_context(), runtime_id)

    def serve_rpc(self, transport: messaging.Transport | None = None) -> None:
        """Listen on the engine topic (split mode) with the threading executor."""
        transport = transport or rpc.transport(self.conf)
        target = rpc.target(self.conf, server=self.conf.engine.host)
        self._rpc_server = messaging.get_rpc_server(
            transport,
            target,
            [self.gate],
            executor="threading",
            serializer=rpc.ContextSerializer(),
        )
        self._rpc_server.start()
        LOG.info("Engine %s listening on topic %s", self.conf.engine.host, self.conf.engine.topic)

    def serve_run_queue(self, connect: Connect) -> None:
        """Take qinling-api's sync executions from the run queue (``engine.run_queue``)."""
        self._run_queue = RunQueueServer(
            connect,
            self.gate.run_recorded,
            run_queue.queue_name(self.conf),
            max_consumers=self.conf.engine.execution_threads,
        )
        self._run_queue.start()

    def serve_data_socket(self, path: str) -> None:
        """Serve API processes of this host on a Unix socket (``engine.data_socket``)."""
        lending = getattr(self.orchestrator, "lending", None)
        lender = lending if isinstance(lending, Lender) and self.conf.api.worker_leases else None
        self._data_socket = DataSocketServer(
            path,
            self.gate,
            self.submit,
            record=functools.partial(records.record, self.db),
            lender=lender,
        )
        self._data_socket.start()

    def _run_periodic(self) -> None:
        tick = min(self.conf.engine.job_check_interval, self.conf.engine.periodic_interval)
        last_housekeeping = time.monotonic()
        while not self._stopping.wait(tick):
            self._guarded("fire due jobs", self.scheduler.fire_due)
            if time.monotonic() - last_housekeeping >= self.conf.engine.periodic_interval:
                last_housekeeping = time.monotonic()
                self.run_periodic_tasks()

    def run_periodic_tasks(self) -> None:
        self._guarded("reap idle workers", self.manager.reap_idle_workers)
        self._guarded("reap orphaned executions", self.reaper.reap)
        self._guarded(
            "purge old executions",
            lambda: self.reaper.purge_finished(self.conf.engine.execution_retention),
        )
        self._guarded("prepare pending runtimes", self._prepare_pending_runtimes)

    @staticmethod
    def _guarded(name: str, task) -> None:
        try:
            task()
        except Exception:
            LOG.exception("Periodic task '%s' failed", name)

    def _run_async(self, execution_id: str) -> None:
        self.submit(self.gate.create_execution, admin_context(), execution_id)

    def submit(self, task: Callable[..., object], *args, **kwargs) -> None:
        """Run ``task`` on the engine's thread pool; its failure goes to the log."""
        self._runs.submit(self._logged, task, args, kwargs)

    @staticmethod
    def _logged(task: Callable[..., object], args: tuple, kwargs: dict) -> None:
        try:
            task(*args, **kwargs)
        except Exception:  # nobody waits for the result but the log
            LOG.exception("Engine task %s failed", getattr(task, "__name__", task))

    def _prepare_pending_runtimes(self) -> None:
        """Runtimes still creating or upgrading after a while missed their cast
        (an engine restart, a message sent before any engine listened): drive
        them again. Preparing a pool is idempotent."""
        stale = models.utcnow() - datetime.timedelta(seconds=self.conf.engine.periodic_interval)
        pending = (states.RuntimeStatus.CREATING, states.RuntimeStatus.UPGRADING)
        with self.db.transaction() as session:
            ids = list(
                session.scalars(
                    sa.select(models.Runtime.id).where(
                        models.Runtime.status.in_(pending),
                        sa.func.coalesce(models.Runtime.updated_at, models.Runtime.created_at)
                        < stale,
                    )
                )
            )
        for runtime_id in ids:
            LOG.info("Runtime %s is still pending; preparing its pool again", runtime_id)
            self.manager.create_runtime(admin_context(), runtime_id)

    def stop(self) -> None:
        """Stop gracefully: take nothing new, let running executions finish.

        Up to ``[engine] graceful_shutdown_timeout``; what still runs then is
        ended in ``error`` with a message and its worker is killed. Accepted
        executions not started here stay unclaimed for the reaper.
        """
        timeout = self.conf.engine.graceful_shutdown_timeout
        deadline = time.monotonic() + timeout
        self.gate.close()
        self._stopping.set()
        if self._rpc_server is not None:
            self._rpc_server.stop()
        if self._run_queue is not None:
            self._run_queue.close()
        self._runs.shutdown(wait=False, cancel_futures=True)
        running = self.gate.wait_idle(deadline - time.monotonic())
        if self._data_socket is not None:  # runs of API processes on lent workers
            running += self._data_socket.drain_leases(deadline - time.monotonic())
        if running:
            LOG.warning("%d execution(s) still running at the shutdown deadline", running)
            self._guarded(
                "end interrupted executions", lambda: self.reaper.end_interrupted(timeout)
            )
        if self._periodic is not None:
            self._periodic.join(timeout=5)
        self.orchestrator.stop()
        if running:
            self.gate.wait_idle(_AFTER_KILL_WAIT)
        if self._rpc_server is not None:
            self._wait_rpc_server(self._rpc_server)
        if self._run_queue is not None:
            self._run_queue.join(_AFTER_KILL_WAIT)
        if self._data_socket is not None:
            self._data_socket.stop()
        self.manager.pending.close()
        self.manager.loader.counts.close()

    @staticmethod
    def _wait_rpc_server(server: messaging.MessageHandlingServer) -> None:
        # wait() joins the dispatch threads; one stuck (on a dead database)
        # must not keep the process alive.
        waiter = threading.Thread(target=server.wait, name="rpc-wait", daemon=True)
        waiter.start()
        waiter.join(_AFTER_KILL_WAIT)
