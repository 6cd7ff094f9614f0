"""A connection's reader and writer for cheroot, straight on the socket.

cheroot reads requests and writes responses through ``_pyio``, the pure
Python ``io`` module: a ``readline`` there is a dozen Python calls, and a
request is a line per header. These do the same on one buffer, with a
``recv`` or ``sendall`` only where the bytes run out or the response is
complete (measured: a trivial WSGI app under ``http_server.serve`` cost
265-273 us of CPU a request with cheroot's, 201-216 us with these).

They keep cheroot's interface as cheroot uses it: ``readline(size)``,
``read(size)``, iteration, ``has_data``, ``bytes_read``; ``write``,
``flush``, ``bytes_written``. Their errors reach cheroot as before.

The socket they are given is made blocking, with its timeout kept by the
kernel instead (``kernel_timeout``): Python polls a socket that has a
timeout before each ``recv`` and ``send``, which doubles the system calls
of a request and, in a busy process, the times its thread lets the GIL go
and waits to take it back.
"""

from __future__ import annotations

import socket
import struct

# What one recv asks for: a request's line and headers in one call.
RECV_SIZE = 16 * 1024
# What one recv asks for while a large read (a package upload) needs more.
LARGE_RECV_SIZE = 256 * 1024
# A response's bytes are held until it is complete (``flush``) or this large.
RESPONSE_BUFFER = 64 * 1024


def kernel_timeout(sock: socket.socket) -> None:
    """Make ``sock`` blocking, its timeout (if any) applied by the kernel to
    each receive and send (``SO_RCVTIMEO``, ``SO_SNDTIMEO``): a call that
    times out then fails with ``BlockingIOError`` (``_timed_out``)."""
    timeout = sock.gettimeout()
    sock.settimeout(None)
    if timeout:
        seconds = int(timeout)
        # A struct timeval; never zero, which would mean no timeout at all.
        micros = max(int((timeout - seconds) * 1_000_000), 0 if seconds else 1)
        value = struct.pack("ll", seconds, micros)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


def _timed_out() -> TimeoutError:
    # What Python raises where it applies the timeout: cheroot answers it
    # with 408 in a request and closes quietly between requests.
    return TimeoutError("timed out")


class SocketReader:
    def __init__(self, sock: socket.socket) -> None:
        """``sock``: blocking (``kernel_timeout``)."""
        self._sock = sock
        self._buf = b""
        self._pos = 0
        self.bytes_read = 0
        self.closed = False

    def has_data(self) -> bool:
        """Whether bytes already received wait to be read (no recv needed)."""
        return len(self._buf) > self._pos

    def readline(self, size: int | None = -1) -> bytes:
        """Up to and including the next ``\\n``; at most ``size`` bytes if
        ``size`` >= 0; less only at the end of the stream."""
        limit = -1 if size is None else size
        while True:
            end = self._buf.find(b"\n", self._pos)
            buffered = len(self._buf) - self._pos
            if end >= 0:
                count = end + 1 - self._pos
                return self._take(count if limit < 0 else min(count, limit))
            if 0 <= limit <= buffered or not self._receive():
                return self._take(buffered if limit < 0 else min(buffered, limit))

    def read(self, size: int | None = -1) -> bytes:
        """``size`` bytes, fewer only at the end of the stream; all of it
        up to the end when ``size`` is None or negative."""
        if size is None or size < 0:
            return self._read_to_end()
        if len(self._buf) - self._pos >= size:
            return self._take(size)
        out = bytearray(self._buf[self._pos :])
        self._buf, self._pos = b"", 0
        while len(out) < size:
            chunk = self._recv(min(size - len(out), LARGE_RECV_SIZE))
            if not chunk:
                break
            out += chunk
        self.bytes_read += len(out)
        return bytes(out)

    def __iter__(self) -> SocketReader:
        return self

    def __next__(self) -> bytes:
        line = self.readline()
        if not line:
            raise StopIteration
        return line

    def close(self) -> None:
        """The socket is the connection's to close; this only stops reading."""
        self.closed = True

    def _take(self, count: int) -> bytes:
        taken = self._buf[self._pos : self._pos + count]
        self._pos += len(taken)
        self.bytes_read += len(taken)
        return taken

    def _receive(self) -> bool:
        """Append what the socket has next; False at the end of the stream."""
        chunk = self._recv(RECV_SIZE)
        if not chunk:
            return False
        if self._pos < len(self._buf):
            self._buf = self._buf[self._pos :] + chunk
        else:
            self._buf = chunk
        self._pos = 0
        return True

    def _recv(self, size: int) -> bytes:
        try:
            return self._sock.recv(size)
        except BlockingIOError as err:
            raise _timed_out() from err

    def _read_to_end(self) -> bytes:
        chunks = [self._buf[self._pos :]]
        self._buf, self._pos = b"", 0
        while chunk := self._recv(RECV_SIZE):
            chunks.append(chunk)
        data = b"".join(chunks)
        self.bytes_read += len(data)
        return data


class SocketWriter:
    """cheroot writes a response's status and headers, then each body chunk:
    each would be a send. This holds them until the response is complete
    (``flush``, by ``http_server``) or large."""

    def __init__(self, sock: socket.socket) -> None:
        """``sock``: blocking (``kernel_timeout``)."""
        self._sock = sock
        self._buf = bytearray()
        self.bytes_written = 0
        self.closed = False

    def write(self, data: bytes) -> int:
        self._buf += data
        self.bytes_written += len(data)
        if len(self._buf) >= RESPONSE_BUFFER:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self._buf:
            try:
                self._sock.sendall(self._buf)
            except BlockingIOError as err:
                raise _timed_out() from err
            finally:
                self._buf.clear()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.closed = True
