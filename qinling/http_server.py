"""Serving a WSGI app with cheroot, stopping cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable

from cheroot import wsgi

LOG = logging.getLogger(__name__)


def serve(
    app,
    host: str,
    port: int,
    *,
    threads: int,
    on_stop: tuple[Callable[[], None], ...] = (),
    drain_seconds: float = 5.0,
    reuse_port: bool = False,
    on_listening: Callable[[int], None] | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT; then stop accepting, give requests in flight
    (a sync execution holds its request) up to ``drain_seconds`` to finish, and
    run ``on_stop``.

    ``reuse_port``: several processes listen on the port and the kernel
    spreads connections over them. ``on_listening`` gets the bound port.
    """
    server = wsgi.Server(
        (host, port),
        app,
        numthreads=threads,
        request_queue_size=256,
        server_name="qinling",
        reuse_port=reuse_port,
    )
    server.shutdown_timeout = drain_seconds
    stop_requested = threading.Event()

    def request_stop(signum, _frame) -> None:
        LOG.info("Signal %s: stopping", signum)
        stop_requested.set()
        threading.Thread(target=server.stop, name="stopper").start()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    server.prepare()
    LOG.info("Qinling API listening on http://%s:%s", host, server.bind_addr[1])
    try:
        if on_listening is not None:
            on_listening(server.bind_addr[1])
        server.serve()
    finally:
        for stop in on_stop:
            try:
                stop()
            except Exception:
                LOG.exception("Error while stopping")


def serve_api(
    app,
    conf,
    *,
    on_stop: tuple[Callable[[], None], ...] = (),
    reuse_port: bool = False,
    on_listening: Callable[[int], None] | None = None,
) -> None:
    """``serve`` on ``[api] host``/``port`` with ``[api] api_workers`` threads,
    draining for up to ``[engine] graceful_shutdown_timeout``."""
    serve(
        app,
        conf.api.host,
        conf.api.port,
        threads=conf.api.api_workers,
        on_stop=on_stop,
        drain_seconds=conf.engine.graceful_shutdown_timeout,
        reuse_port=reuse_port,
        on_listening=on_listening,
    )
