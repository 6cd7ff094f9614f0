"""The local driver's runtime pools: a zygote per runtime, and its spares.

A pool's generation counts its zygotes: workers forked from an older one
are retired by the driver when the runtime changes. The map of pools is
guarded by the driver's lock (``lock``); zygotes start and stop outside it.
"""

from __future__ import annotations

import dataclasses
import os
import threading

from qinling import exceptions
from qinling.orchestrator import base
from qinling.orchestrator.local import runtimes, spares, zygote_client
from qinling.orchestrator.local.settings import Settings


@dataclasses.dataclass
class Pool:
    runtime: base.RuntimeSpec
    definition: runtimes.RuntimeDefinition
    zygote: zygote_client.Zygote
    generation: int


class NoPool(exceptions.OrchestratorError):
    """The runtime has no pool here: raised to the caller (the contract)."""


class Pools:
    def __init__(self, lock: threading.Lock, settings: Settings) -> None:
        self._lock = lock
        self._settings = settings
        self._definitions: dict[str, runtimes.RuntimeDefinition] = {}
        self._instance_dir: str | None = None
        self._spares: spares.SpareKeeper | None = None
        self._pools: dict[str, Pool] = {}
        self._closed = False

    def open(
        self,
        definitions: dict[str, runtimes.RuntimeDefinition],
        instance_dir: str,
        keeper: spares.SpareKeeper,
    ) -> None:
        """Once the driver has started: pools may be created from now on."""
        self._definitions = definitions
        self._instance_dir = instance_dir
        self._spares = keeper

    def get(self, runtime_id: str) -> Pool:
        with self._lock:
            return self.get_locked(runtime_id)

    def get_locked(self, runtime_id: str) -> Pool:
        pool = self._pools.get(runtime_id)
        if pool is None:
            raise NoPool(f"Runtime {runtime_id} has no pool on this host.")
        return pool

    def has_locked(self, runtime_id: str) -> bool:
        return runtime_id in self._pools

    def create(self, runtime: base.RuntimeSpec) -> bool:
        """Start the runtime's pool unless it has one; False when it has one
        of another image (the caller replaces it)."""
        with self._lock:
            pool = self._pools.get(runtime.id)
        if pool is not None:
            return pool.runtime.image == runtime.image
        definition = runtimes.resolve(runtime.image, self._definitions)
        zygote = self._start_zygote(definition)
        with self._lock:
            existing = runtime.id in self._pools or self._closed
            if not existing:
                created = self._pools[runtime.id] = Pool(runtime, definition, zygote, 1)
        if existing:
            zygote.stop()
        else:
            self._keep_spares(created)
        return True

    def replace(self, runtime: base.RuntimeSpec) -> Pool | None:
        """Start a new generation of the runtime's pool; the one it replaced,
        whose zygote the caller stops once its workers are retired."""
        definition = runtimes.resolve(runtime.image, self._definitions)
        zygote = self._start_zygote(definition)
        with self._lock:
            old = self._pools.get(runtime.id)
            generation = old.generation + 1 if old else 1
            self._pools[runtime.id] = pool = Pool(runtime, definition, zygote, generation)
        self._keep_spares(pool)
        return old

    def remove(self, runtime_id: str) -> Pool | None:
        """Forget the runtime's pool; the one removed, whose zygote the caller
        stops once its workers are retired."""
        with self._lock:
            pool = self._pools.pop(runtime_id, None)
        if self._spares is not None:
            self._spares.remove_source(runtime_id)
        return pool

    def close_locked(self) -> list[Pool]:
        """No pool is created any more; those there were, to stop."""
        self._closed = True
        pools = list(self._pools.values())
        self._pools.clear()
        return pools

    def _start_zygote(self, definition: runtimes.RuntimeDefinition) -> zygote_client.Zygote:
        if self._instance_dir is None:
            raise exceptions.OrchestratorError("The local orchestrator is not started.")
        log_path = os.path.join(self._instance_dir, f"zygote-{definition.name}.log")
        zygote = zygote_client.Zygote(definition, log_path, self._settings.worker_start_timeout)
        zygote.start()
        return zygote

    def _keep_spares(self, pool: Pool) -> None:
        if self._spares is not None:
            source = spares.Source(pool.runtime.id, pool.definition, pool.zygote, pool.generation)
            self._spares.set_source(source)
