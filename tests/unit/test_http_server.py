"""The API's HTTP server: keep-alive connections served back to back, and a clean stop."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

from qinling import connection_share
from qinling.connection_share import ConnectionShare

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SERVER = """
import os
import sys
import threading
from qinling import http_server

def app(environ, start_response):
    if environ["PATH_INFO"] == "/stream":
        return stream(start_response)
    if environ["PATH_INFO"] == "/echo":
        body = environ["wsgi.input"].read()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]
    if environ["PATH_INFO"] == "/policy":
        body = str(os.sched_getscheduler(0)).encode()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]
    if environ["PATH_INFO"] == "/thread":
        body = str(threading.get_ident()).encode()
        start_response("200 OK", [("Content-Length", str(len(body)))])
        return [body]
    body = (environ["REQUEST_METHOD"] + " " + environ["PATH_INFO"]).encode()
    start_response("200 OK", [("Content-Length", str(len(body)))])
    return [body]

def stream(start_response):
    # 200 KiB, then nothing until the client says it got them.
    start_response("200 OK", [("Content-Length", str(300 * 1024))])
    yield b"a" * (200 * 1024)
    sys.stdin.readline()
    yield b"b" * (100 * 1024)

def listening(port):
    print(port, flush=True)

import os
from qinling.connection_share import ConnectionShare
share = ConnectionShare(os.environ["SHARE"], 2, 0) if "SHARE" in os.environ else None
http_server.serve(app, "127.0.0.1", 0, threads=64, on_listening=listening,
                  on_stop=(lambda: print("stopped", flush=True),), share=share,
                  batch_scheduling="BATCH" in os.environ)
"""


def _start(env: dict[str, str] | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SERVER],
        cwd=ROOT,
        env=None if env is None else dict(os.environ, **env),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def server():
    """(its port, the process) of a server serving a WSGI app that echoes the request line."""
    yield from _serving(_start())


@pytest.fixture
def batch_server():
    """As ``server``, its threads under SCHED_BATCH."""
    yield from _serving(_start({"BATCH": "1"}))


@pytest.fixture
def sharing_server(tmp_path):
    """(its port, the process, the other process's view) of a server that is
    one of two sharing connections (``connection_share``)."""
    ConnectionShare.create(str(tmp_path), 2).close()  # the server's slot: 0
    path = os.path.join(tmp_path, connection_share.FILE_NAME)
    other = ConnectionShare(path, 2, 1)
    try:
        for port, process in _serving(_start({"SHARE": path})):
            yield port, process, other
    finally:
        other.close()


def _serving(process: subprocess.Popen):
    try:
        yield int(process.stdout.readline()), process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        process.stdin.close()
        process.stdout.close()


def _get(connection: http.client.HTTPConnection, method: str, path: str) -> bytes:
    connection.request(method, path, body=b"x" if method == "POST" else None)
    response = connection.getresponse()
    assert response.status == 200
    return response.read()


def test_requests_on_one_keep_alive_connection_are_all_answered(server):
    port, _ = server
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        answers = [_get(connection, "GET", f"/n/{n}") for n in range(50)]
        time.sleep(0.05)  # longer than a worker waits for the next request
        after_a_pause = _get(connection, "POST", "/later")
    finally:
        connection.close()

    assert answers == [f"GET /n/{n}".encode() for n in range(50)]
    assert after_a_pause == b"POST /later"


def test_a_client_pausing_between_requests_keeps_its_thread(server):
    """While other threads are idle for new connections, a thread waits on
    for its connection's next request instead of handing it back to the
    selector (and the next request to whichever thread takes it then)."""
    port, _ = server
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        threads = set()
        for _ in range(5):
            threads.add(_get(connection, "GET", "/thread"))
            time.sleep(0.05)
    finally:
        connection.close()

    assert len(threads) == 1


def test_sigterm_stops_it_with_an_idle_keep_alive_connection_open(server):
    port, process = server
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    assert _get(connection, "GET", "/once") == b"GET /once"

    process.send_signal(signal.SIGTERM)

    assert process.wait(10) == 0
    assert process.stdout.read().strip() == "stopped"
    connection.close()


def test_sigterm_again_and_again_stops_it_once(server):
    port, process = server
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    assert _get(connection, "GET", "/once") == b"GET /once"

    for _ in range(20):  # what an API process gets when its server is SIGKILLed:
        process.send_signal(signal.SIGTERM)  # one for each of the server's threads
        time.sleep(0.002)

    assert process.wait(10) == 0
    assert process.stdout.read().strip() == "stopped"
    connection.close()


def test_a_large_response_is_sent_as_it_is_written(server):
    """Responses are held until complete, but not beyond 64 KiB."""
    port, process = server
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/stream")
        response = connection.getresponse()
        first = response.read(200 * 1024)  # arrives while the app still waits
        process.stdin.write("go\n")
        process.stdin.flush()
        rest = response.read()
    finally:
        connection.close()
    assert (first, rest) == (b"a" * (200 * 1024), b"b" * (100 * 1024))


def _responses(sock: socket.socket, count: int) -> list[bytes]:
    """The bodies of ``count`` responses (200, with a Content-Length) read off ``sock``."""
    stream = sock.makefile("rb")
    bodies = []
    for _ in range(count):
        assert stream.readline().startswith(b"HTTP/1.1 200 ")
        headers = {}
        while (line := stream.readline()) != b"\r\n":
            name, _, value = line.decode().partition(":")
            headers[name.lower()] = value.strip()
        bodies.append(stream.read(int(headers["content-length"])))
    return bodies


def test_requests_sent_together_with_their_bodies_are_each_answered(server):
    """Pipelined requests: what is read past one request is the next one's."""
    port, _ = server
    requests = (
        b"".join(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
            for body in (b'{"n": 1}', b"", b"x" * 100_000)
        )
        + b"GET /last HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(requests)
        bodies = _responses(sock, 4)
    assert bodies == [b'{"n": 1}', b"", b"x" * 100_000, b"GET /last"]


def test_a_chunked_request_body_is_read_whole(server):
    port, _ = server
    request = (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nhello\r\n7\r\n, again\r\n0\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        for part in (request[:20], request[20:61], request[61:]):  # as a slow client
            sock.sendall(part)
            time.sleep(0.01)
        assert _responses(sock, 1) == [b"hello, again"]


def _connection_header(connection: http.client.HTTPConnection) -> str | None:
    connection.request("GET", "/thread")
    response = connection.getresponse()
    response.read()
    return response.getheader("Connection")


def test_a_process_holding_more_than_its_share_of_connections_closes_one(sharing_server):
    port, _, other = sharing_server
    for _ in range(4):
        other.opened()  # the other process holds 4
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=5) for _ in range(4)]
    try:
        # 4 and 4: an even split, every connection kept.
        assert [_connection_header(c) for c in connections] == [None] * 4
        for _ in range(4):
            other.closed()
        # 4 of 4: over its share (2, and one more): the next answer closes its connection.
        assert _connection_header(connections[0]) == "close"
        assert _connection_header(connections[1]) is None  # 3 of 3 now
    finally:
        for connection in connections:
            connection.close()


def test_threads_serve_under_the_normal_policy_by_default(server):
    port, _ = server
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        assert int(_get(connection, "GET", "/policy")) == os.SCHED_OTHER
    finally:
        connection.close()


def test_threads_serve_under_sched_batch_when_asked(batch_server):
    port, _ = batch_server
    connections = [http.client.HTTPConnection("127.0.0.1", port, timeout=5) for _ in range(3)]
    try:  # each on a thread of its own
        assert {int(_get(c, "GET", "/policy")) for c in connections} == {os.SCHED_BATCH}
    finally:
        for connection in connections:
            connection.close()
