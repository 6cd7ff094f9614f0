"""Length-prefixed JSON messages over a stream socket.

A frame is a 4-byte big-endian length followed by that many bytes of UTF-8
JSON. The runtime agents speak the same framing (runtimes/*/agent.*).
"""

from __future__ import annotations

import json
import select
import socket
import struct
import time
from typing import Any

_HEADER = struct.Struct(">I")


class ConnectionClosed(ConnectionError):
    """The peer closed the connection (or died) before a whole frame arrived."""


class FrameTooLarge(ValueError):
    """The peer announced a frame larger than the reader accepts."""


def _frame(message: Any) -> bytes:
    body = json.dumps(message, separators=(",", ":")).encode()
    return _HEADER.pack(len(body)) + body


def send(sock: socket.socket, message: Any, fds: list[int] | None = None) -> None:
    data = _frame(message)
    if fds:
        sent = socket.send_fds(sock, [data], fds)
        data = data[sent:]
    if data:
        sock.sendall(data)


def recv(sock: socket.socket, max_size: int = 64 * 1024 * 1024) -> Any:
    message, _ = recv_with_fds(sock, max_size, max_fds=0)
    return message


def recv_with_fds(
    sock: socket.socket, max_size: int = 64 * 1024 * 1024, max_fds: int = 4
) -> tuple[Any, list[int]]:
    fds: list[int] = []
    if max_fds:
        header, fds, _, _ = socket.recv_fds(sock, _HEADER.size, max_fds)
        if not header:
            raise ConnectionClosed("connection closed")
        header += _read_exact(sock, _HEADER.size - len(header))
    else:
        header = _read_exact(sock, _HEADER.size)
    (size,) = _HEADER.unpack(header)
    if size > max_size:
        raise FrameTooLarge(f"message of {size} bytes exceeds {max_size}")
    return json.loads(_read_exact(sock, size)), fds


def _read_exact(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise ConnectionClosed("connection closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def exchange(sock: socket.socket, message: Any, timeout: float, max_size: int) -> Any:
    """Send ``message`` on a non-blocking socket and return the one reply.

    For a request-reply channel (the peer sends nothing unasked): a send,
    a poll while the peer works and, for replies under 64 KiB, one recv;
    a socket with a timeout would poll before each of three calls.
    ``TimeoutError`` when no whole reply came within ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    _send_nonblocking(sock, _frame(message), deadline)
    received = bytearray()
    frame_end = 0
    while not frame_end or len(received) < frame_end:
        _wait(sock, select.POLLIN, deadline)
        chunk = sock.recv(max(1 << 16, frame_end - len(received)))
        if not chunk:
            raise ConnectionClosed("connection closed")
        received += chunk
        if not frame_end and len(received) >= _HEADER.size:
            (size,) = _HEADER.unpack_from(received)
            if size > max_size:
                raise FrameTooLarge(f"message of {size} bytes exceeds {max_size}")
            frame_end = _HEADER.size + size
    if len(received) > frame_end:
        raise ValueError("the peer sent more than one reply")
    return json.loads(received[_HEADER.size :])


def _send_nonblocking(sock: socket.socket, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[sock.send(view) :]
        except BlockingIOError:
            _wait(sock, select.POLLOUT, deadline)


def _wait(sock: socket.socket, event: int, deadline: float) -> None:
    """Until ``sock`` is ready for ``event``; ``TimeoutError`` at ``deadline``."""
    poller = select.poll()
    poller.register(sock, event)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("timed out")
        if poller.poll(remaining * 1000):
            return
