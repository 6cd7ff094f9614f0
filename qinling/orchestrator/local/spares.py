"""Spare workers: spawned and sandboxed ahead of need, waiting for a function.

A cold start then only attaches the function's package to a spare (see
``_sandbox.jail``) instead of forking and sandboxing a worker while the
execution waits. One thread keeps ``count`` spares per runtime pool and
replaces each one taken. Spares of a replaced or deleted pool are stopped,
never attached. A spare runs nothing but the sandbox's own code. It makes
no network namespace: it stays in the host's until its attach brings the
one of its function version (``networks``), before any function code runs.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import threading
from collections.abc import Callable

from qinling.orchestrator.local import runtimes, zygote_client
from qinling.orchestrator.local.launcher import Launcher
from qinling.orchestrator.local.worker import Worker

LOG = logging.getLogger(__name__)

RETRY_AFTER = 1.0  # seconds between attempts while spawning fails


@dataclasses.dataclass(frozen=True, eq=False)
class Source:
    """Where a runtime pool's spares come from."""

    runtime_id: str
    definition: runtimes.RuntimeDefinition
    zygote: zygote_client.Zygote
    generation: int


class SpareKeeper:
    def __init__(self, launcher: Launcher, count: int) -> None:
        self._launcher = launcher
        self._count = count
        self._wake = threading.Condition(threading.Lock())
        self._sources: dict[str, Source] = {}
        self._spares: dict[str, list[Worker]] = {}
        # Network namespaces for function versions' workers (``networks``);
        # made while the launcher gives them (it gives none with egress allowed).
        self._networks: list[int] = []
        self._making_networks = count > 0
        self._stopped = False
        self._thread: threading.Thread | None = None

    def set_source(self, source: Source) -> None:
        """Keep spares for a new pool, or for a pool's new generation."""
        if self._count <= 0:
            return
        with self._wake:
            if self._stopped:
                return
            self._sources[source.runtime_id] = source
            doomed = self._spares.pop(source.runtime_id, [])
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="qinling-spare-workers", daemon=True
                )
                self._thread.start()
            self._wake.notify()
        self._stop_all(doomed)

    def remove_source(self, runtime_id: str) -> None:
        with self._wake:
            self._sources.pop(runtime_id, None)
            doomed = self._spares.pop(runtime_id, [])
        self._stop_all(doomed)

    def take(self, runtime_id: str, generation: int) -> Worker | None:
        """A live spare of that pool generation, or None (the caller spawns one)."""
        found, doomed = None, []
        with self._wake:
            spares = self._spares.get(runtime_id, [])
            while spares and found is None:
                spare = spares.pop(0)
                if spare.generation == generation and spare.alive():
                    found = spare
                else:
                    doomed.append(spare)
        self._stop_all(doomed)
        return found

    def take_network(self) -> int | None:
        """A network namespace of the caller's own (it closes the
        descriptor): a spare one, else one made now; None where workers
        have none of their own."""
        with self._wake:
            if self._networks:
                return self._networks.pop()
        return self._launcher.new_network()

    def replenish(self) -> None:
        """Make spares (workers, networks) for those taken; called once a
        cold start is done, so that making them does not compete with it."""
        with self._wake:
            self._wake.notify()

    def stop(self) -> None:
        """Stop the thread and every spare; the keeper is not used again."""
        with self._wake:
            self._stopped = True
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join()
        with self._wake:
            doomed = [spare for spares in self._spares.values() for spare in spares]
            self._spares.clear()
            self._sources.clear()
            for network in self._networks:
                os.close(network)
            self._networks.clear()
        self._stop_all(doomed)

    def _run(self) -> None:
        while True:
            with self._wake:
                make = self._next_locked()
                while make is None and not self._stopped:
                    self._wake.wait()
                    make = self._next_locked()
                if self._stopped or make is None:
                    return
            make()

    def _make_network(self) -> None:
        made = self._launcher.new_network(background=True)
        with self._wake:
            if made is None:
                self._making_networks = False  # none to make, or the kernel refuses
            elif self._stopped:
                os.close(made)
            else:
                self._networks.append(made)

    def _make_spare(self, source: Source) -> None:
        try:
            spare = self._launcher.spawn(
                source.runtime_id,
                source.definition,
                source.zygote,
                source.generation,
                background=True,
                own_network=False,  # it joins its function version's (``networks``)
            )
        except Exception as exc:  # the thread lives on; cold starts then spawn their own
            LOG.warning("Cannot start a spare worker of runtime %s: %s", source.runtime_id, exc)
            with self._wake:
                self._wake.wait(RETRY_AFTER)
            return
        with self._wake:
            keep = not self._stopped and self._sources.get(source.runtime_id) is source
            if keep:
                self._spares.setdefault(source.runtime_id, []).append(spare)
        if not keep:
            self._launcher.stop(spare)

    def _next_locked(self) -> Callable[[], None] | None:
        """What to make next (a network, then spares pool by pool), or None."""
        if self._making_networks and len(self._networks) < self._count:
            return self._make_network
        for runtime_id, source in self._sources.items():
            if len(self._spares.get(runtime_id, ())) < self._count:
                return functools.partial(self._make_spare, source)
        return None

    def _stop_all(self, spares: list[Worker]) -> None:
        for spare in spares:
            try:
                self._launcher.stop(spare)
            except Exception:  # one bad spare must not block the others
                LOG.exception("Could not stop spare worker %s", spare.name)
