"""Telling the log when one holder has kept the work gate far too long.

A request holds the gate only while it runs Python between two waits:
microseconds to milliseconds. Held by one holder for ``[api]
gate_stuck_after`` seconds, the process is almost surely deadlocked (two
such cycles were found under load: see ``db.group_commit``), and every
execution request it gets will hang. The watch then logs every thread's
stack once, at ERROR, so that an operator sees why instead of silence.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback

from qinling.work_gate import GATE, WorkGate

LOG = logging.getLogger(__name__)

# How often the watch looks at the gate: a fraction of the time it reports after.
CHECKS_PER_PERIOD = 6


def watch(stop: threading.Event, after: float, gate: WorkGate = GATE) -> threading.Thread:
    """Start watching ``gate`` in a thread of its own until ``stop`` is set."""
    thread = threading.Thread(
        target=_watch, args=(stop, after, gate), name="gate-watch", daemon=True
    )
    thread.start()
    return thread


def _watch(stop: threading.Event, after: float, gate: WorkGate) -> None:
    seen, since, told = gate.turn[0], time.monotonic(), False
    while not stop.wait(after / CHECKS_PER_PERIOD):
        takes, held = gate.turn
        if takes != seen or not held:
            seen, since, told = takes, time.monotonic(), False
            continue
        if not told and time.monotonic() - since >= after:
            LOG.error(
                "One request has held the work gate for %.0f s: this process is probably "
                "deadlocked, and its execution requests will not be answered. Restart it "
                "and report this log. Its threads:\n%s",
                time.monotonic() - since,
                _stacks(),
            )
            told = True


def _stacks() -> str:
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    return "\n".join(
        f'Thread "{names.get(ident, ident)}":\n' + "".join(traceback.format_stack(frame))
        for ident, frame in sys._current_frames().items()
    )
