"""A connection's reader and writer on a real socket pair."""

from __future__ import annotations

import socket
import struct
import threading

import pytest

from qinling import socket_stream
from qinling.socket_stream import SocketReader, SocketWriter


@pytest.fixture
def pair():
    ours, peer = socket.socketpair()
    ours.settimeout(5)
    socket_stream.kernel_timeout(ours)
    try:
        yield ours, peer
    finally:
        ours.close()
        peer.close()


def test_lines_come_one_at_a_time_with_what_follows_kept(pair):
    ours, peer = pair
    peer.sendall(b"POST /v1/executions HTTP/1.1\r\nHost: x\r\n\r\n{}")
    reader = SocketReader(ours)
    assert reader.readline() == b"POST /v1/executions HTTP/1.1\r\n"
    assert reader.readline() == b"Host: x\r\n"
    assert reader.readline() == b"\r\n"
    assert reader.has_data()
    assert reader.read(2) == b"{}"
    assert not reader.has_data()
    assert reader.bytes_read == len(b"POST /v1/executions HTTP/1.1\r\nHost: x\r\n\r\n{}")


def test_a_line_split_over_sends_is_put_together(pair):
    ours, peer = pair
    reader = SocketReader(ours)
    peer.sendall(b"Content-")
    sender = threading.Timer(0.05, peer.sendall, (b"Length: 2\r\nrest",))
    sender.start()
    assert reader.readline() == b"Content-Length: 2\r\n"
    sender.join()
    assert reader.read(4) == b"rest"


def test_a_line_is_cut_at_the_size_asked(pair):
    ours, peer = pair
    peer.sendall(b"abcdefgh\r\n")
    reader = SocketReader(ours)
    assert reader.readline(4) == b"abcd"
    assert reader.readline(256) == b"efgh\r\n"


def test_a_line_longer_than_asked_for_returns_without_waiting_for_its_end(pair):
    ours, peer = pair
    peer.sendall(b"x" * 300)  # no newline yet: the size must be enough
    reader = SocketReader(ours)
    assert reader.readline(256) == b"x" * 256


def test_a_large_read_gathers_many_receives(pair):
    ours, peer = pair
    body = bytes(range(256)) * 4096  # 1 MiB, more than the socket buffers hold
    sender = threading.Thread(target=peer.sendall, args=(b"head\n" + body,))
    sender.start()
    reader = SocketReader(ours)
    assert reader.readline() == b"head\n"
    assert reader.read(len(body)) == body
    sender.join()


def test_reads_end_short_where_the_stream_ends(pair):
    ours, peer = pair
    peer.sendall(b"last line without end")
    peer.shutdown(socket.SHUT_WR)
    reader = SocketReader(ours)
    assert reader.read(100) == b"last line without end"
    assert reader.readline() == b""
    assert reader.read(1) == b""


def test_read_without_a_size_reads_to_the_end(pair):
    ours, peer = pair
    peer.sendall(b"one\ntwo\n")
    peer.shutdown(socket.SHUT_WR)
    reader = SocketReader(ours)
    assert reader.readline() == b"one\n"
    assert reader.read() == b"two\n"


def test_iteration_gives_lines(pair):
    ours, peer = pair
    peer.sendall(b"1\n2\n")
    peer.shutdown(socket.SHUT_WR)
    assert list(SocketReader(ours)) == [b"1\n", b"2\n"]


def test_the_socket_is_made_blocking_with_its_timeout_kept_by_the_kernel(pair):
    ours, _peer = pair
    ours.settimeout(0.05)
    socket_stream.kernel_timeout(ours)
    assert ours.gettimeout() is None
    with pytest.raises(TimeoutError, match="timed out"):
        SocketReader(ours).readline()


def test_a_send_the_peer_does_not_take_times_out(pair):
    ours, _peer = pair  # the peer reads nothing: the socket's buffers fill up
    ours.settimeout(0.05)
    socket_stream.kernel_timeout(ours)
    writer = SocketWriter(ours)
    writer.write(b"x" * socket_stream.RESPONSE_BUFFER)  # sent at once, in part
    with pytest.raises(TimeoutError, match="timed out"):
        for _ in range(100):
            writer.write(b"x" * socket_stream.RESPONSE_BUFFER)


def test_writes_are_sent_together_when_flushed(pair):
    ours, peer = pair
    writer = SocketWriter(ours)
    writer.write(b"HTTP/1.1 200 OK\r\n\r\n")
    writer.write(b"body")
    peer.setblocking(False)
    with pytest.raises(BlockingIOError):
        peer.recv(100)  # nothing sent yet
    writer.flush()
    peer.setblocking(True)
    assert peer.recv(100) == b"HTTP/1.1 200 OK\r\n\r\nbody"
    assert writer.bytes_written == len(b"HTTP/1.1 200 OK\r\n\r\nbody")


def test_a_large_response_is_sent_before_it_is_complete(pair):
    ours, peer = pair
    writer = SocketWriter(ours)
    received = bytearray()
    reading = threading.Thread(
        target=lambda: received.extend(peer.recv(socket_stream.RESPONSE_BUFFER))
    )
    reading.start()
    writer.write(b"a" * socket_stream.RESPONSE_BUFFER)
    reading.join(5)
    assert received  # sent without a flush


def test_a_failed_send_leaves_nothing_to_send_again(pair):
    ours, peer = pair
    peer.close()
    writer = SocketWriter(ours)
    writer.write(b"x")
    with pytest.raises(OSError):
        writer.flush()
    writer.flush()  # nothing held: no second error


def test_a_timeout_under_a_microsecond_is_still_a_timeout(pair):
    ours, _peer = pair
    ours.settimeout(1e-7)  # a zero timeval would mean no timeout at all
    socket_stream.kernel_timeout(ours)
    value = ours.getsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, 16)
    assert struct.unpack("ll", value) != (0, 0)  # the kernel rounds it up to its tick
