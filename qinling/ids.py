"""Identifiers: UUIDs whose first bits are the time they were made (RFC 9562's version 7).

Every execution inserts a row keyed by its id. Random (version 4) ids land
anywhere in the primary key's index, so each insert reads and rewrites a
page of it that is rarely in cache, and InnoDB clusters the whole table on
it. Time-ordered ids are appended where the last ones went. 74 random bits
keep them unguessable; the time they reveal is in ``created_at`` anyway.

Random bytes are read from the kernel a page at a time: two ``getrandom``
calls per execution (its id and its request id) were two of the warm
path's system calls.
"""

from __future__ import annotations

import os
import threading
import time

_POOL_SIZE = 4096


class _RandomBytes:
    """``os.urandom``, fetched a page at a time; safe from any thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool = b""
        self._at = 0

    def take(self, count: int) -> bytes:
        with self._lock:
            if self._at + count > len(self._pool):
                self._pool, self._at = os.urandom(_POOL_SIZE), 0
            taken = self._pool[self._at : self._at + count]
            self._at += count
            return taken

    def forget(self) -> None:
        """Drop what is left: a forked child must not hand out its parent's bytes."""
        self._lock = threading.Lock()
        self._pool, self._at = b"", 0


_random = _RandomBytes()
os.register_at_fork(after_in_child=_random.forget)


def time_ordered() -> str:
    """A version 7 UUID's text: 48 bits of Unix time in ms, then 74 random bits."""
    millis = time.time_ns() // 1_000_000
    value = (millis & ((1 << 48) - 1)) << 80 | int.from_bytes(_random.take(10), "big")
    value &= ~(0xF << 76 | 0x3 << 62)  # version and variant fields
    value |= 0x7 << 76 | 0x2 << 62
    return _text(f"{value:032x}")


def random_uuid() -> str:
    """A version 4 UUID's text, from the same pool of random bytes."""
    value = int.from_bytes(_random.take(16), "big")
    value &= ~(0xF << 76 | 0x3 << 62)
    value |= 0x4 << 76 | 0x2 << 62
    return _text(f"{value:032x}")


def _text(digits: str) -> str:
    # What str(uuid.UUID(...)) gives, without building the object: 3-4 us
    # less for each of the two ids of every execution.
    return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"
