"""Assembling the service's parts from configuration, for each entry point."""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import signal
import threading
from collections.abc import Callable

from qinling import conf as qconf
from qinling import exceptions, host_cpus, logs, storage
from qinling.api.app import create_app
from qinling.api.invoker import EngineInvoker
from qinling.conf import api as api_options
from qinling.db.session import Database
from qinling.engine import run_queue
from qinling.engine.client import InProcessEngineClient
from qinling.engine.invoker import ClaimingInvoker, RemoteRunInvoker
from qinling.engine.loader import ExecutionLoader, kept_lookups
from qinling.engine.pending import PendingExecutions
from qinling.engine.rpcapi import EngineRPCClient
from qinling.engine.run_queue_client import RunQueueClient
from qinling.engine.service import EngineService
from qinling.engine.socket_client import ClaimedRunner, SocketEngineClient
from qinling.orchestrator.local.borrowed import BorrowedWorkers

LOG = logging.getLogger(__name__)

# sockaddr_un's sun_path holds 108 bytes with the terminating NUL.
MAX_SOCKET_PATH = 107


def config(argv: list[str]) -> object:
    """A service's configuration from its command line, logging set up."""
    conf = read_config(argv)
    logs.setup(conf)
    return conf


def read_config(argv: list[str]) -> object:
    """The configuration ``argv`` names, as the service runs it."""
    conf = qconf.new_config(argv)
    # Sized to this host once, so that every part (and every API process,
    # which parses the same files) reads the same count.
    conf.set_override("processes", _api_processes(conf), group="api")
    return conf


def _api_processes(conf) -> int:
    if conf.api.processes != api_options.AUTO_PROCESSES:
        return conf.api.processes  # as configured: no need to look at the host
    count = api_options.process_count(conf.api.processes, host_cpus.usable())
    if count == 1:
        return count
    path = conf.engine.data_socket or _default_data_socket(conf)
    if _too_long_for_a_socket(path):
        LOG.warning(
            "qinling-server serves the API in one process: the data socket its other API "
            "processes would use, %s, is too long for a Unix socket. Set [engine] "
            "data_socket to a shorter path to use %d processes.",
            path,
            count,
        )
        return 1
    return count


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


def data_socket_path(conf) -> str | None:
    """Where the engine serves API processes of its host, if anywhere."""
    path = conf.engine.data_socket
    if not path and conf.api.processes > 1:
        path = _default_data_socket(conf)
    if path and _too_long_for_a_socket(path):
        raise exceptions.ConfigurationError(
            f"The engine's data socket {path} is longer than a Unix socket's path may be "
            f"({MAX_SOCKET_PATH} bytes): set [engine] data_socket to a shorter path"
            + ("." if conf.engine.data_socket else ", or [api] processes = 1.")
        )
    return path or None


def _default_data_socket(conf) -> str:
    return os.path.join(conf.state_dir, "engine.sock")


def _too_long_for_a_socket(path: str) -> bool:
    return len(os.fsencode(path)) > MAX_SOCKET_PATH


def all_in_one(conf, *, orchestrator=None) -> AllInOne:
    """API and engine in one process; the schema is brought up to date."""
    socket_path = data_socket_path(conf)  # refused before anything starts
    db = Database.from_conf(conf, serving=True)
    migrate(db)
    store = storage.load(conf)
    engine = EngineService(conf, db, store, orchestrator)
    engine.start()
    if socket_path:
        engine.serve_data_socket(socket_path)
    client = InProcessEngineClient(engine.gate, submit=engine.submit)
    execution_invoker = ClaimingInvoker(
        engine.manager.loader,
        engine.manager.pending,  # closed by engine.stop
        engine.gate.run_only,
        fallback=engine_invoker(db, client),
    )
    app = create_app(conf, db=db, engine=client, storage=store, execution_invoker=execution_invoker)

    def close() -> None:
        client.shutdown()
        engine.stop()
        db.dispose()

    return AllInOne(app, engine, close)


def api_only(conf) -> tuple[object, Callable[[], None]]:
    """qinling-api: the engine over RPC; sync executions over the engine's
    data socket when ``[engine] data_socket`` names one on this host, else
    run and written by an engine (``RemoteRunInvoker``) unless ``[api]
    sync_execution_write_after`` is 0."""
    db = Database.from_conf(conf)
    require_schema(db)
    store = storage.load(conf)
    client = EngineRPCClient(conf)
    execution_invoker, close_invoker = engine_invoker(db, client), None
    if conf.engine.data_socket:
        data_path = SocketEngineClient(
            conf.engine.data_socket, sync_margin=conf.api.sync_execution_margin
        )
        execution_invoker, close_invoker = _data_socket_invoker(
            conf, db, store, data_path, fallback_engine=client
        )
    elif conf.api.sync_execution_write_after > 0:
        loader = ExecutionLoader(conf, db, store)
        runs, close_runs = _recording_engine(conf, client)
        execution_invoker = RemoteRunInvoker(loader, runs, fallback=execution_invoker)

        def close_invoker() -> None:
            close_runs()
            loader.counts.close()

    app = create_app(conf, db=db, engine=client, storage=store, execution_invoker=execution_invoker)

    def close() -> None:
        client.shutdown()
        if close_invoker is not None:
            close_invoker()
        db.dispose()

    return app, close


def engine_invoker(db: Database, engine) -> EngineInvoker:
    """The API's invoker through ``engine``, reading functions and aliases
    from the rows the database keeps (``engine.loader.kept_lookups``)."""
    return EngineInvoker(db, engine, lookups=kept_lookups(db))


def _recording_engine(conf, client: EngineRPCClient) -> tuple[object, Callable[[], None]]:
    """Where sync executions go from qinling-api: the engines' run queue on
    RabbitMQ (``engine.run_queue``), else RPC."""
    connect = run_queue.connector(conf)
    if connect is None:
        return client, lambda: None
    runs = RunQueueClient(
        connect, run_queue.queue_name(conf), client, margin=conf.api.sync_execution_margin
    )
    return runs, runs.close


def api_process(conf) -> tuple[object, Callable[[], None]]:
    """One of qinling-server's other API processes: everything over the data
    socket of the engine in qinling-server's own process, which also
    checkpoints the SQLite file for all of them."""
    db = Database.from_conf(conf, serving=True, checkpoints_here=False)
    store = storage.load(conf)
    client = SocketEngineClient(data_socket_path(conf), sync_margin=conf.api.sync_execution_margin)
    execution_invoker, close_invoker = _data_socket_invoker(
        conf, db, store, client, fallback_engine=client
    )
    app = create_app(conf, db=db, engine=client, storage=store, execution_invoker=execution_invoker)

    def close() -> None:
        client.shutdown()
        close_invoker()
        db.dispose()

    return app, close


def _data_socket_invoker(
    conf, db: Database, store, data_path: SocketEngineClient, *, fallback_engine
) -> tuple[ClaimingInvoker, Callable[[], None]]:
    """Sync executions claimed in this process, run over an engine's data
    socket; and what closes it."""
    loader = ExecutionLoader(conf, db, store)
    borrowed = BorrowedWorkers(data_path.connect) if conf.api.worker_leases else None
    pending = PendingExecutions(
        db,
        conf.api.sync_execution_write_after,
        on_long_run=borrowed.announce if borrowed is not None else None,
    )
    invoker = ClaimingInvoker(
        loader,
        pending,
        ClaimedRunner(data_path, borrowed),
        fallback=engine_invoker(db, fallback_engine),
        # While the engine cannot be reached its execution ends in error, unrun.
        host=functools.partial(data_path.engine_host, unreachable=conf.engine.host),
    )

    def close() -> None:
        pending.close()
        loader.counts.close()
        if borrowed is not None:
            borrowed.close()

    return invoker, close


def run_engine(conf) -> None:
    db = Database.from_conf(conf)
    require_schema(db)
    engine = EngineService(conf, db, storage.load(conf))
    engine.start(serve_rpc=True)
    connect = run_queue.connector(conf)
    if connect is not None:
        engine.serve_run_queue(connect)
    if conf.engine.data_socket:
        engine.serve_data_socket(conf.engine.data_socket)
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
