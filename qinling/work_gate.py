"""One execution request at a time runs Python in a process; the others wait
at this gate instead of fighting for the GIL.

A sync execution's request does a few dozen short blocking calls (SQLite,
sockets, files), and each one lets go of the GIL. With many requests in
flight, every such call hands the GIL to another thread and takes it back:
two thread switches, measured at 116 thread switches per execution with 32
concurrent clients (5 with one), which doubled the CPU an execution costs.
Threads blocked on this gate are not runnable, so the holder's short calls
get the GIL back at once; the turn passes only where a request really
waits: for its function to run, for another thread's commit, or for the
network. Those places say so with ``waiting()``.

Only the execution hot path holds the gate (``api.gated``); ``waiting()``
in a thread that does not hold it does nothing, so the code it wraps works
the same for the engine's own threads and for tests.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator


class WorkGate:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._local = threading.local()
        self._takes = 0  # moved by every taking (``gate_watch``)

    @property
    def turn(self) -> tuple[int, bool]:
        """How many times the gate was taken so far, and whether it is held now."""
        return self._takes, self._lock.locked()

    def held_here(self) -> bool:
        """Whether the calling thread holds the gate."""
        return getattr(self._local, "held", False)

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Hold the gate for the block (at once if this thread already does)."""
        if self.held_here():
            yield
            return
        self._take()
        try:
            yield
        finally:
            self._give()

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        """Let others have the gate while the block waits on something else."""
        if not self.held_here():
            yield
            return
        self._give()
        try:
            yield
        finally:
            self._take()

    @contextlib.contextmanager
    def may_let_go(self) -> Iterator[Callable[[], None]]:
        """For a block that others may come to wait for: it calls what it is
        given to let the gate go where it waits, and gets the gate back only
        once it ends, never within. A thread that takes the gate back midway
        may wait for the gate's new holder while that holder waits for it."""
        let_go_here = False

        def let_go() -> None:
            nonlocal let_go_here
            if not let_go_here and self.held_here():
                self._give()
                let_go_here = True

        try:
            yield let_go
        finally:
            if let_go_here:
                self._take()

    def _take(self) -> None:
        self._lock.acquire()
        self._takes += 1
        self._local.held = True

    def _give(self) -> None:
        self._local.held = False
        self._lock.release()


# One per process, as the GIL it stands in front of.
GATE = WorkGate()
