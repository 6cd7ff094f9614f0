"""Assembling the service's parts from configuration, for each entry point."""

from __future__ import annotations

import dataclasses
import logging
import signal
import threading
from collections.abc import Callable

from qinling import conf as qconf
from qinling import exceptions, logs, storage
from qinling.api.app import create_app
from qinling.api.invoker import EngineInvoker
from qinling.db.session import Database
from qinling.engine.client import InProcessEngineClient
from qinling.engine.invoker import ClaimingInvoker
from qinling.engine.rpcapi import EngineRPCClient
from qinling.engine.service import EngineService

LOG = logging.getLogger(__name__)


def config(argv: list[str]) -> object:
    conf = qconf.new_config(argv)
    logs.setup(conf)
    return conf


def migrate(db: Database) -> None:
    from qinling.db import migration

    migration.upgrade(db.url)


def require_schema(db: Database) -> None:
    """Refuse to serve on a database whose schema is not this code's.

    The split services never migrate by themselves (several may start at
    once); the operator runs ``qinling-db-manage upgrade`` once per release.
    """
    from qinling.db import migration

    current, head = migration.current(db.url), migration.head()
    if current != head:
        raise exceptions.ConfigurationError(
            f"The database schema is at {current or 'nothing'} but this code needs {head}: "
            "run 'qinling-db-manage --config-file <your config> upgrade' first."
        )


@dataclasses.dataclass
class AllInOne:
    app: object
    engine: EngineService
    close: Callable[[], None]


def all_in_one(conf, *, orchestrator=None) -> AllInOne:
    """API and engine in one process; the schema is brought up to date."""
    db = Database.from_conf(conf)
    migrate(db)
    store = storage.load(conf)
    engine = EngineService(conf, db, store, orchestrator)
    engine.start()
    client = InProcessEngineClient(engine.gate, submit=engine.submit)
    execution_invoker = ClaimingInvoker(
        db, engine.manager, engine.gate, fallback=EngineInvoker(db, client)
    )
    app = create_app(conf, db=db, engine=client, storage=store, execution_invoker=execution_invoker)

    def close() -> None:
        client.shutdown()
        engine.stop()
        db.dispose()

    return AllInOne(app, engine, close)


def api_only(conf) -> tuple[object, Callable[[], None]]:
    db = Database.from_conf(conf)
    require_schema(db)
    client = EngineRPCClient(conf)
    app = create_app(conf, db=db, engine=client, storage=storage.load(conf))

    def close() -> None:
        client.shutdown()
        db.dispose()

    return app, close


def run_engine(conf) -> None:
    db = Database.from_conf(conf)
    require_schema(db)
    engine = EngineService(conf, db, storage.load(conf))
    engine.start(serve_rpc=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    LOG.info(
        "Engine stopping: draining running executions for up to %s s",
        conf.engine.graceful_shutdown_timeout,
    )
    engine.stop()
    db.dispose()
