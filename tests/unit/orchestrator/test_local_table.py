"""The local driver's worker bookkeeping, without processes."""

from __future__ import annotations

import os

from qinling.orchestrator import base
from qinling.orchestrator.local.table import WorkerTable
from qinling.orchestrator.local.worker import Worker

RUNTIME = base.RuntimeSpec(id="python", image="python3")


def _spec(function_id: str = "f", digest: str = "d1", concurrency: int = 10) -> base.FunctionSpec:
    return base.FunctionSpec(
        function_id=function_id,
        version=0,
        runtime=RUNTIME,
        package_path=None,
        package_digest=digest,
        concurrency=concurrency,
    )


class _AliveWorker(Worker):
    def alive(self) -> bool:
        return True


def _started(table: WorkerTable, spec: base.FunctionSpec, used: float = 0.0) -> Worker:
    """An idle worker of ``spec`` as the driver records one it started."""
    slots = table.slots_for(spec, [])
    worker = _AliveWorker(
        name=f"w{len(table.workers())}",
        key=spec.key,
        runtime_id=RUNTIME.id,
        generation=1,
        digest=spec.package_digest or "",
        memory_size=spec.memory_size,
        uid=0,
        cgroup=None,
        state=base.WorkerState.IDLE,
        last_used=used,
    )
    slots.workers.append(worker)
    return worker


def test_the_warmest_idle_worker_is_taken_and_an_outdated_one_dropped() -> None:
    table = WorkerTable(max_workers=10)
    spec = _spec()
    old = _started(table, spec)
    old.generation = 0  # of a pool replaced since
    warm = _started(table, spec, used=5.0)
    doomed: list[Worker] = []
    with table.lock:
        assert table.take_idle(table.get(spec.key), 1, doomed) is warm
        assert warm.state is base.WorkerState.BUSY
        assert table.take_idle(table.get(spec.key), 1, doomed) is None
    assert doomed == [old]


def test_at_the_limit_the_least_recently_used_idle_worker_makes_room() -> None:
    table = WorkerTable(max_workers=2)
    other = _spec("other")
    lru, recent = _started(table, other, used=1.0), _started(table, other, used=2.0)
    spec = _spec("f", concurrency=1)
    doomed: list[Worker] = []
    with table.lock:
        slots = table.slots_for(spec, doomed)
        assert table.may_start(slots, spec, doomed)
        slots.starting += 1
        assert not table.may_start(slots, spec, doomed)  # its own concurrency
    assert doomed == [lru] and lru.state is base.WorkerState.STOPPING
    assert table.workers() == [recent]


def test_a_new_package_retires_the_old_ones_workers_and_frees_the_package() -> None:
    table = WorkerTable(max_workers=10)
    idle = _started(table, _spec(digest="d1"))
    busy = _started(table, _spec(digest="d1"))
    busy.state = base.WorkerState.BUSY
    doomed: list[Worker] = []
    with table.lock:
        table.slots_for(_spec(digest="d2"), doomed)
        assert doomed == [idle] and busy.retiring
        assert table.discardable_packages() == set()  # the busy worker holds d1
        table.remove(busy)
        assert table.discardable_packages() == {"d1"}
        assert table.discardable_packages() == set()


def test_forgetting_a_function_closes_its_network_namespace_once_unused() -> None:
    table = WorkerTable(max_workers=10)
    spec = _spec()
    worker = _started(table, spec)
    network = os.open("/proc/self/ns/net", os.O_RDONLY)
    with table.lock:
        table.get(spec.key).keep_network(network)
        assert table.forget_function("f", None) == [worker]
        assert table.get(spec.key) is None
    try:
        os.fstat(network)
    except OSError:
        pass  # closed, as it should be
    else:
        os.close(network)
        raise AssertionError("the network namespace descriptor was left open")
