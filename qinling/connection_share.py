"""How many connections each of qinling-server's API processes holds, so
that one holding more than its share lets some go.

The processes listen on one port (``SO_REUSEPORT``) and the kernel gives
each new connection to one of them by a hash of its addresses: 32
connections opened at once were seen split 18/8/6. A client keeps its
connection (keep-alive), so the split lasts, and the requests on the
busiest process wait about twice as long as the others' (p99 at 32
clients 55-60 ms against 26-30 for functions-framework).

So each process counts its open connections in a slot of a small file
mapped by all of them (``<state_dir>/api-connections``), and one that holds
more than its share (``over_share``) answers the request in hand with
``Connection: close``. Its client connects again, and the kernel places the
new connection anew: the busiest process sheds connections until the
split is even. Clients reconnect on their own (HTTP/1.1 lets a server close
a keep-alive connection after any response).
"""

from __future__ import annotations

import math
import mmap
import os
import struct
import threading

FILE_NAME = "api-connections"
SLOT_ENV = "QINLING_API_SLOT"
# Connections a process may hold beyond an even share before it sheds one:
# an uneven count by one is unavoidable, and shedding costs a reconnection.
SLACK = 1
_SLOT = struct.Struct("i")


class ConnectionShare:
    """One process's view of the counts: its own slot, and everyone's."""

    def __init__(self, path: str, processes: int, slot: int) -> None:
        self._processes = processes
        self._counts = struct.Struct(f"{processes}i")  # every slot: read per response
        self._slot = slot
        self._lock = threading.Lock()
        self._held = 0
        self._leaving = 0  # of those held: shed, not closed yet
        fd = os.open(path, os.O_RDWR)
        try:
            self._map = mmap.mmap(fd, self._counts.size)
        finally:
            os.close(fd)
        self._publish()  # a restarted process starts from nothing

    @classmethod
    def create(cls, state_dir: str, processes: int) -> ConnectionShare:
        """The file for ``processes`` processes, all at zero; this process is slot 0."""
        path = os.path.join(state_dir, FILE_NAME)
        with open(path, "wb") as f:
            f.write(bytes(processes * _SLOT.size))
        return cls(path, processes, 0)

    @classmethod
    def from_env(cls, state_dir: str, processes: int) -> ConnectionShare | None:
        """The share of an API process its parent numbered (``SLOT_ENV``), if any."""
        slot = os.environ.get(SLOT_ENV)
        if slot is None or processes < 2:
            return None
        return cls(os.path.join(state_dir, FILE_NAME), processes, int(slot))

    def opened(self) -> None:
        with self._lock:
            self._held += 1
            self._publish()

    def closed(self, *, shed: bool = False) -> None:
        """A connection closed; ``shed``: one that ``shed`` let go."""
        with self._lock:
            self._held -= 1
            if shed:
                self._leaving -= 1
            self._publish()

    def over_share(self) -> bool:
        """Whether this process holds more connections than an even share
        allows, not counting those it is letting go."""
        total = sum(self._counts.unpack_from(self._map))
        return self._held - self._leaving > math.ceil(total / self._processes) + SLACK

    def shed(self) -> bool:
        """Whether to let one connection go, over its share; if so, its
        ``closed`` says ``shed``. Counted as leaving at once, not when it
        closes after its response: the answers going out meanwhile would
        each shed one more."""
        with self._lock:
            if not self.over_share():
                return False
            self._leaving += 1
            return True

    def close(self) -> None:
        self._map.close()

    def _publish(self) -> None:
        _SLOT.pack_into(self._map, self._slot * _SLOT.size, self._held)
