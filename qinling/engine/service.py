"""The engine as a running service: orchestrator, periodic tasks, RPC server."""

from __future__ import annotations

import logging
import threading

import oslo_messaging as messaging
import sqlalchemy as sa

from qinling import orchestrator as orchestrators
from qinling import rpc, states
from qinling.context import admin_context
from qinling.db import models
from qinling.db.session import Database
from qinling.engine.manager import EngineManager
from qinling.orchestrator.base import Orchestrator
from qinling.storage import PackageStore

LOG = logging.getLogger(__name__)


class EngineService:
    def __init__(
        self, conf, db: Database, storage: PackageStore, orchestrator: Orchestrator | None = None
    ) -> None:
        self.conf = conf
        self.db = db
        self.orchestrator = orchestrator or orchestrators.load(conf)
        self.manager = EngineManager(conf, db, self.orchestrator, storage)
        self._stopping = threading.Event()
        self._periodic: threading.Thread | None = None
        self._rpc_server: messaging.MessageHandlingServer | None = None

    def start(self) -> None:
        self.orchestrator.start()
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
            [self.manager],
            executor="threading",
            serializer=rpc.ContextSerializer(),
        )
        self._rpc_server.start()
        LOG.info("Engine %s listening on topic %s", self.conf.engine.host, self.conf.engine.topic)

    def _run_periodic(self) -> None:
        interval = self.conf.engine.periodic_interval
        while not self._stopping.wait(interval):
            self.run_periodic_tasks()

    def run_periodic_tasks(self) -> None:
        try:
            reaped = self.manager.reap_idle_workers()
            if reaped:
                LOG.info("Stopped %d idle worker(s)", reaped)
        except Exception:
            LOG.exception("Reaping idle workers failed")

    def stop(self) -> None:
        self._stopping.set()
        if self._rpc_server is not None:
            self._rpc_server.stop()
            self._rpc_server.wait()
        if self._periodic is not None:
            self._periodic.join(timeout=5)
        self.orchestrator.stop()
