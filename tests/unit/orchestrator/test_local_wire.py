"""The length-prefixed JSON framing between driver, zygote and workers."""

from __future__ import annotations

import os
import socket

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
