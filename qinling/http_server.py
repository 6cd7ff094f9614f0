"""Serving a WSGI app with cheroot, stopping cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import os
import select
import signal
import threading
from collections.abc import Callable

from cheroot import server as cheroot_server
from cheroot import wsgi

from qinling import gate_watch
from qinling.connection_share import ConnectionShare
from qinling.socket_stream import SocketReader, SocketWriter, kernel_timeout

LOG = logging.getLogger(__name__)


# How long a worker thread waits on a keep-alive connection for its next
# request before handing it back to the server's selector thread; and how
# long it goes on waiting, a slice at a time, while other threads are idle to
# take new connections (a busy client of many connections sends its next
# request tens of milliseconds later).
KEEP_ALIVE_WAIT = 0.002
KEEP_ALIVE_SLICE = 0.02
KEEP_ALIVE_PARK = 1.0


class _SheddingRequest(cheroot_server.HTTPRequest):
    """A request whose answer closes its connection while this process
    holds more than its share of the port's connections (``connection_share``)."""

    def send_headers(self) -> None:
        if not self.close_connection and self.conn.leaves_share():
            self.close_connection = True  # cheroot says so: "Connection: close"
        super().send_headers()


class _KeepServingConnection(cheroot_server.HTTPConnection):
    """A keep-alive connection whose next request, if it comes within
    ``KEEP_ALIVE_WAIT`` and no other connection waits for a thread, is served
    by the same worker thread.

    cheroot hands every keep-alive connection back to its selector thread
    after each request; the next request then costs two thread wake-ups
    (selector, then a worker) before it is even read. A client that sends
    requests back to back (an SDK, a benchmark, a workflow engine) skips them.
    """

    RequestHandlerClass = _SheddingRequest

    def __init__(self, server, sock, _makefile=None) -> None:
        # cheroot's makefile is for TLS adapters too; ``serve`` sets none.
        kernel_timeout(sock)
        super().__init__(server, sock, _socket_stream)
        self._counted_in: ConnectionShare | None = getattr(server, "share", None)
        self._shed = False
        if self._counted_in is not None:
            self._counted_in.opened()

    def leaves_share(self) -> bool:
        """Whether to close after this response, to even the connections out."""
        share = self._counted_in
        self._shed = self._shed or (share is not None and share.shed())
        return self._shed

    def close(self) -> None:
        try:
            super().close()
        finally:
            share, self._counted_in = getattr(self, "_counted_in", None), None
            if share is not None:
                share.closed(shed=getattr(self, "_shed", False))

    def communicate(self) -> bool:
        while True:
            try:
                keep_open = super().communicate()
            finally:
                self._send_response()
            if not keep_open or not self._next_request_soon():
                return keep_open

    def _send_response(self) -> None:
        try:
            self.wfile.flush()
        except OSError:
            pass  # the client went away: cheroot closes the connection

    def _next_request_soon(self) -> bool:
        if self.rfile.has_data():
            return True
        poller = select.poll()  # not select(): descriptors beyond 1024 are common here
        try:
            poller.register(self.socket, select.POLLIN)
            wait, parked = KEEP_ALIVE_WAIT, 0.0
            while self._may_keep_waiting(parked):
                if poller.poll(wait * 1000):
                    return True
                parked += wait
                wait = KEEP_ALIVE_SLICE
        except (OSError, ValueError):
            pass
        return False

    def _may_keep_waiting(self, parked: float) -> bool:
        """Whether this thread may wait on for the connection's next request:
        not while stopping or while others wait for a thread; beyond the first
        wait, only while another thread is idle for new connections."""
        server = self.server
        if not server.ready or server.requests.qsize:
            return False
        return parked == 0.0 or (parked < KEEP_ALIVE_PARK and server.requests.idle > 0)


def _socket_stream(sock, mode: str, _bufsize: int):
    """cheroot's ``makefile``: a connection's reader or writer (``socket_stream``)."""
    return SocketReader(sock) if "r" in mode else SocketWriter(sock)


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
    gate_stuck_after: float = 0.0,
    share: ConnectionShare | None = None,
    batch_scheduling: bool = False,
) -> None:
    """Serve until SIGTERM/SIGINT; then stop accepting, give requests in flight
    (a sync execution holds its request) up to ``drain_seconds`` to finish, and
    run ``on_stop``.

    ``reuse_port``: several processes listen on the port and the kernel
    spreads connections over them; ``share`` evens them out. ``on_listening``
    gets the bound port. ``gate_stuck_after``: see ``gate_watch`` (0: not
    watched). ``batch_scheduling``: the serving threads run under
    ``SCHED_BATCH`` (``[api] batch_scheduling``).
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
    server.ConnectionClass = _KeepServingConnection
    server.share = share  # read by each connection
    stop_requested = threading.Event()

    def request_stop(signum, _frame) -> None:
        # Once: an API process gets its parent-death SIGTERM again for each
        # thread of the killed server it is handed to, and concurrent stops
        # would block each other on cheroot's full request queue.
        if stop_requested.is_set():
            return
        LOG.info("Signal %s: stopping", signum)
        stop_requested.set()
        threading.Thread(target=server.stop, name="stopper").start()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    if batch_scheduling:
        _schedule_as_batch()  # before ``prepare`` starts the threads, which inherit it
    server.prepare()
    LOG.info("Qinling API listening on http://%s:%s", host, server.bind_addr[1])
    unwatched = threading.Event()
    if gate_stuck_after > 0:
        gate_watch.watch(unwatched, gate_stuck_after)
    try:
        if on_listening is not None:
            on_listening(server.bind_addr[1])
        server.serve()
    finally:
        unwatched.set()
        for stop in on_stop:
            try:
                stop()
            except Exception:
                LOG.exception("Error while stopping")


def _schedule_as_batch() -> None:
    """Put the calling thread, and the threads it starts from now on, under
    ``SCHED_BATCH``: a thread woken then does not preempt the CPU's current
    task. Under load that task is mostly another of the process's threads,
    holding the GIL the woken one would wait for. Processes started from
    here inherit it too: a runtime's zygote puts itself, and so the
    functions' workers, back under the normal policy."""
    policy = getattr(os, "SCHED_BATCH", None)
    if policy is None:
        LOG.info("SCHED_BATCH is not available here; [api] batch_scheduling ignored")
        return
    try:
        os.sched_setscheduler(0, policy, os.sched_param(0))
    except OSError as err:
        LOG.warning("Could not run the API's threads under SCHED_BATCH: %s", err)


def serve_api(
    app,
    conf,
    *,
    on_stop: tuple[Callable[[], None], ...] = (),
    reuse_port: bool = False,
    on_listening: Callable[[int], None] | None = None,
    share: ConnectionShare | None = None,
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
        gate_stuck_after=conf.api.gate_stuck_after,
        share=share,
        batch_scheduling=conf.api.batch_scheduling,
    )
