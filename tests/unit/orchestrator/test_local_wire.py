"""The length-prefixed JSON framing between driver, zygote and workers."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import struct
import threading

import pytest

from qinling.orchestrator.local._sandbox import wire


def test_messages_and_descriptors_round_trip():
    left, right = socket.socketpair()
    read_end, write_end = os.pipe()
    with left, right:
        wire.send(left, {"op": "spawn", "n": [1, 2]}, [read_end])
        message, fds = wire.recv_with_fds(right)
        assert message == {"op": "spawn", "n": [1, 2]}
        os.write(write_end, b"!")
        assert os.read(fds[0], 1) == b"!"
    for fd in (read_end, write_end, *fds):
        os.close(fd)


def test_closed_connection_and_oversized_frames():
    left, right = socket.socketpair()
    with left, right:
        wire.send(left, "x" * 100)
        with pytest.raises(wire.FrameTooLarge):
            wire.recv(right, max_size=10)
    left, right = socket.socketpair()
    with right:
        left.close()
        with pytest.raises(wire.ConnectionClosed):
            wire.recv(right)


def _peer(sock: socket.socket, reply) -> threading.Thread:
    """A peer that reads one request and sends ``reply(request)`` as raw bytes."""

    def answer() -> None:
        request = wire.recv(sock)
        data = reply(request)
        with contextlib.suppress(OSError):  # a reply that closed the socket
            sock.sendall(data)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return thread


def _frame(message) -> bytes:
    body = json.dumps(message).encode()
    return struct.pack(">I", len(body)) + body


def test_an_exchange_returns_the_reply_however_it_arrives():
    big = "y" * (300 * 1024)  # several recv calls
    for reply in ({"ok": 1}, {"output": big}):
        left, right = socket.socketpair()
        with left, right:
            left.setblocking(False)
            peer = _peer(right, lambda request, r=reply: _frame(r | {"echo": request}))
            assert wire.exchange(left, {"n": 1}, 10, 1 << 24) == reply | {"echo": {"n": 1}}
            peer.join(10)


def test_an_exchange_times_out_closes_and_refuses_what_is_not_one_reply():
    left, right = socket.socketpair()
    with left, right:
        left.setblocking(False)
        _peer(right, lambda request: b"")  # reads, never answers
        with pytest.raises(TimeoutError):
            wire.exchange(left, {}, 0.2, 1024)
    left, right = socket.socketpair()
    with left, right:
        left.setblocking(False)
        _peer(right, lambda request: _frame("x" * 100))
        with pytest.raises(wire.FrameTooLarge):
            wire.exchange(left, {}, 10, 10)
    left, right = socket.socketpair()
    with left:
        left.setblocking(False)
        _peer(right, lambda request: right.close() or b"")
        with pytest.raises(OSError):
            wire.exchange(left, {}, 10, 1024)
    left, right = socket.socketpair()
    with left, right:
        left.setblocking(False)
        _peer(right, lambda request: _frame(1) + _frame(2))  # in one send
        with pytest.raises(ValueError, match="more than one"):
            wire.exchange(left, {}, 10, 1024)
