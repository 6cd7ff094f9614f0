"""Private network namespaces made by the driver, for a function version's workers.

A function version's workers share one network namespace with only a
loopback interface. The driver gives it to the version's first start, from
a few made ahead of need (``spares``), and every worker of the version joins it
at attach: workers starting together (a burst of cold starts, a
``scale_up``) no longer each make their own, and no namespace is made on a
cold start's path. Making one, bringing up its loopback and the kernel's
teardown of it cost about 0.7 ms of CPU (measured here), a tenth of a
worker start.
"""

from __future__ import annotations

import logging
import os
import threading

from qinling.orchestrator.local._sandbox import syscalls as sc

LOG = logging.getLogger(__name__)

# Made ahead of need at this niceness, as spare workers are: not before a cold start.
_BACKGROUND_NICENESS = 10


def make_private_network(*, background: bool = False) -> int | None:
    """A descriptor of a new network namespace whose loopback is up; None
    when the kernel refuses one. ``background``: made at a low CPU priority.

    Namespaces belong to threads: a thread of its own moves into the new
    one, opens it and ends, so no thread of the service ever works in it.
    """
    made: list[int] = []

    def make() -> None:
        if background:  # this thread's own priority (Linux: per thread)
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), _BACKGROUND_NICENESS)
        try:
            sc.unshare(sc.CLONE_NEWNET)
            sc.loopback_up()
            made.append(os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC))
        except OSError as exc:
            LOG.warning("Cannot make a network namespace for workers: %s", exc)

    thread = threading.Thread(target=make, name="qinling-new-network", daemon=True)
    thread.start()
    thread.join()
    return made[0] if made else None
