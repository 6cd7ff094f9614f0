"""Warm reuse, concurrency, queueing, scaling, reaping and code updates."""

from __future__ import annotations

import concurrent.futures
import os
import stat

import pytest

from qinling import exceptions
from qinling.orchestrator import base
from qinling.orchestrator.local import LocalOrchestrator, leases
from tests.functional.sandbox.conftest import (
    PYTHON,
    execute,
    only_worker_exits_with_its_channel,
    requires_isolation,
    started_driver,
    wait_until,
)

pytestmark = requires_isolation

COUNTER = """
calls = 0

def main():
    global calls
    calls += 1
    return calls
"""

# The function, not the test, holds its worker for a while.
HOLD = """
import time

def main(seconds=1.0):
    time.sleep(seconds)
    return "held"
"""


def busy(driver, spec):
    return [w for w in driver.list_workers(spec.function_id) if w.state == base.WorkerState.BUSY]


def test_a_warm_worker_is_reused(driver, function):
    spec = function(COUNTER)
    first, second = execute(driver, spec), execute(driver, spec)
    assert first.cold_start and not second.cold_start
    assert second.init_duration is None
    assert first.worker_name == second.worker_name
    assert (first.output, second.output) == (1, 2)
    [worker] = driver.list_workers("function-1")
    assert worker.state == base.WorkerState.IDLE and worker.name == first.worker_name


def test_only_the_driver_reaches_a_worker(driver, function):
    """A worker's channel is a socket pair with the driver: no socket in the
    file system that another process could connect to, and a worker whose
    channel closes (its engine gone) ends."""
    assert execute(driver, function(COUNTER)).success
    work_dir = driver.settings.work_dir
    found = [
        os.path.join(top, name)
        for top, dirs, files in os.walk(work_dir)
        for name in dirs + files
        if stat.S_ISSOCK(os.lstat(os.path.join(top, name)).st_mode)
    ]
    assert found == []
    assert only_worker_exits_with_its_channel(driver)


def test_parallel_executions_get_their_own_workers(driver, function):
    spec = function(HOLD, concurrency=3)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: execute(driver, spec, {"seconds": 1.5}), range(3)))
    assert all(r.success for r in results), results
    assert len({r.worker_name for r in results}) == 3
    assert len(driver.list_workers("function-1")) == 3


def test_executions_beyond_the_concurrency_limit_wait_for_a_worker(driver, function):
    spec = function(HOLD, concurrency=1)
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: execute(driver, spec, {"seconds": 0.3}), range(2)))
    assert all(r.success for r in results), results
    assert len({r.worker_name for r in results}) == 1


class _Holder:
    """An API process's lease channel, as the engine sees it."""

    name = "api-1"

    def __init__(self) -> None:
        self.recalled: list[str] = []

    def recall(self, lease_id: str) -> None:
        self.recalled.append(lease_id)


def test_a_worker_goes_to_an_execution_waiting_for_it_not_on_loan(driver, function):
    """Lent while an execution here waited for it, a worker was recalled for
    that execution at once: at 32 clients on a function's 10 workers, 8,000
    recalls in 14 s, and the worker went back and forth between processes."""
    spec = function(HOLD, concurrency=1)
    holder = _Holder()
    loan = leases.Loan(holder)
    asking = base.ExecutionRequest(execution_id="lent-1", input={"seconds": 0.5})
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        first = pool.submit(driver.run_execution, spec, asking, loan=loan)
        wait_until(lambda: len(busy(driver, spec)) == 1)
        waiting = pool.submit(execute, driver, spec, {"seconds": 0})
        wait_until(lambda: driver._table.get(spec.key).waiting == 1)  # no event of its own
        results = [first.result(timeout=30), waiting.result(timeout=30)]

    assert all(r.success for r in results), results
    assert results[0].worker_name == results[1].worker_name
    assert loan.lease is None and holder.recalled == []
    assert len(driver.lending.book) == 0


def test_a_worker_is_lent_when_nobody_waits_for_it(driver, function):
    spec = function(HOLD, concurrency=1)
    loan = leases.Loan(_Holder())
    asking = base.ExecutionRequest(execution_id="lent-1", input={"seconds": 0})

    assert driver.run_execution(spec, asking, loan=loan).success
    assert loan.lease is not None and loan.lease.worker.key == spec.key
    assert busy(driver, spec) == driver.list_workers(spec.function_id)  # lent: busy here
    driver.lending.give_back(loan.lease.id, broken=False)


def test_a_full_queue_refuses_at_once(config, function):
    config.set_override("max_queued_executions", 0, "sandbox")
    driver = LocalOrchestrator(config)
    driver.start()
    try:
        driver.create_pool(PYTHON)
        spec = function(HOLD, concurrency=1)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            running = pool.submit(execute, driver, spec, {"seconds": 3})
            wait_until(lambda: busy(driver, spec))
            refused = execute(driver, spec)
            assert running.result().success
    finally:
        driver.stop()
    assert not refused.success and refused.platform_error is None
    assert "Too many executions of function function-1" in refused.output
    assert "concurrency limit" in refused.output


def test_a_queued_execution_gives_up_after_the_wait_timeout(config, function):
    config.set_override("queue_wait_timeout", 0.2, "sandbox")
    driver = LocalOrchestrator(config)
    driver.start()
    try:
        driver.create_pool(PYTHON)
        spec = function(HOLD, concurrency=1)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            running = pool.submit(execute, driver, spec, {"seconds": 3})
            wait_until(lambda: busy(driver, spec))
            late = execute(driver, spec)
            running.result()
    finally:
        driver.stop()
    assert not late.success
    assert "became free within 0.2 s" in late.output


def test_reap_idle_stops_workers_idle_for_too_long(driver, function):
    spec = function(COUNTER)
    execute(driver, spec)
    assert driver.reap_idle(3600) == 0
    assert len(driver.list_workers("function-1")) == 1
    assert driver.reap_idle(0) == 1
    assert driver.list_workers("function-1") == []
    assert execute(driver, spec).cold_start


def test_scale_up_down_and_delete(driver, function):
    spec = function(COUNTER, concurrency=5)
    started = driver.scale_up(spec, 3)
    assert len(started) == 3
    assert {w.state for w in driver.list_workers("function-1", 0)} == {base.WorkerState.IDLE}
    assert not execute(driver, spec).cold_start
    assert driver.scale_down("function-1", 0, 2) == 2
    assert len(driver.list_workers("function-1")) == 1
    driver.delete_function("function-1")
    assert driver.list_workers("function-1") == []
    driver.delete_function("function-1")  # idempotent


def test_scale_up_stops_at_the_concurrency_limit(driver, function):
    spec = function(COUNTER, concurrency=2)
    assert len(driver.scale_up(spec, 5)) == 2


def test_delete_function_waits_for_busy_workers(driver, function):
    spec = function(HOLD)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        running = pool.submit(execute, driver, spec, {"seconds": 1})
        wait_until(lambda: busy(driver, spec))
        driver.delete_function("function-1", 0)
        assert running.result().success
    assert driver.list_workers("function-1") == []


def test_versions_have_separate_workers(driver, function):
    latest, v1 = function(COUNTER), function(COUNTER, version=1)
    execute(driver, latest)
    execute(driver, v1)
    assert len(driver.list_workers("function-1")) == 2
    driver.delete_function("function-1", 1)
    assert [w.version for w in driver.list_workers("function-1")] == [0]


def test_new_code_retires_the_old_workers(driver, function):
    old = function("def main():\n    return 'old'\n")
    new = function("def main():\n    return 'new'\n")
    first = execute(driver, old)
    assert first.output == "old"
    second = execute(driver, new)
    assert second.output == "new" and second.cold_start
    assert [w.name for w in driver.list_workers("function-1")] == [second.worker_name]


def test_unknown_image_names_the_known_ones(driver):
    with pytest.raises(exceptions.OrchestratorError) as error:
        driver.create_pool(base.RuntimeSpec(id="r", image="cobol"))
    assert "'cobol'" in error.value.message
    assert "nodejs, python3" in error.value.message


def test_qinling_image_names_are_accepted(driver):
    driver.create_pool(base.RuntimeSpec(id="r", image="openstackqinling/python3-runtime:latest"))
    assert driver.get_pool("r").total == driver.settings.max_workers


def test_pool_capacity_and_missing_pools(driver, function):
    execute(driver, function(COUNTER))
    info = driver.get_pool(PYTHON.id)
    assert info.workers == 1 and info.available == info.total - 1 and info.warnings == ()
    driver.delete_pool(PYTHON.id)
    driver.delete_pool(PYTHON.id)
    with pytest.raises(exceptions.NotFound):
        driver.get_pool(PYTHON.id)
    with pytest.raises(exceptions.OrchestratorError):
        execute(driver, function(COUNTER))


def test_update_pool_retires_workers_of_the_old_image(driver, function):
    spec = function(COUNTER)
    first = execute(driver, spec)
    driver.update_pool(base.RuntimeSpec(id=PYTHON.id, image="python"))
    second = execute(driver, spec)
    assert second.cold_start and second.worker_name != first.worker_name


def test_no_isolation_refuses_to_start_unless_unsafe_mode(config, monkeypatch, function):
    from qinling.orchestrator.local import cgroups

    monkeypatch.setattr(cgroups, "detect", lambda: None)
    with pytest.raises(exceptions.OrchestratorError, match="unsafe_development_mode"):
        LocalOrchestrator(config).start()
    config.set_override("unsafe_development_mode", True, "sandbox")
    driver = LocalOrchestrator(config)
    driver.start()
    try:
        driver.create_pool(PYTHON)
        assert "UNSAFE DEVELOPMENT MODE" in driver.get_pool(PYTHON.id).warnings[0]
        result = execute(driver, function("def main(a):\n    return a * 2\n"), {"a": 21})
        assert result.success and result.output == 42
        hang = function("def main():\n    while True:\n        pass\n", timeout=1, version=2)
        assert execute(driver, hang).output == "Function execution timeout."
    finally:
        driver.stop()


@pytest.mark.parametrize("spares", [0, 3])
def test_cold_starts_with_and_without_spare_workers(config, function, spares):
    from tests.functional.sandbox.conftest import assert_nothing_left

    config.set_override("spare_workers", spares, "sandbox")
    driver = LocalOrchestrator(config)
    driver.start()
    try:
        driver.create_pool(PYTHON)
        specs = [function(COUNTER, function_id=f"function-{n}") for n in range(5)]
        results = [execute(driver, spec) for spec in specs]
        assert all(r.success and r.cold_start and r.output == 1 for r in results), results
        assert len({r.worker_name for r in results}) == 5
    finally:
        driver.stop()
    assert_nothing_left(driver)


def test_a_worker_that_cannot_set_itself_up_says_why(driver, function, monkeypatch):
    """The sandbox reports a failed setup on the worker's channel, where the
    driver waits for its hello."""
    launcher = driver._launcher
    attach_message = launcher._function

    def naming_a_missing_package(*args):
        return attach_message(*args) | {"package": "no-such-package"}

    monkeypatch.setattr(launcher, "_function", naming_a_missing_package)
    result = execute(driver, function(COUNTER))
    assert not result.success
    assert "sandbox setup failed" in result.platform_error
    assert "/.packages/no-such-package" in result.platform_error


def test_a_run_cancelled_before_it_started_gets_no_worker(driver, function):
    """The engine had claimed the execution when the cancel came, and calls
    ``run_execution`` after it: the run ends at once, cancelled."""
    spec = function(COUNTER)
    assert driver.cancel_execution("execution-1") is False  # not in hand yet

    result = execute(driver, spec)

    assert (result.success, result.output) == (False, base.CANCELLED_OUTPUT)
    assert driver.list_workers("function-1") == []
    assert execute(driver, spec).output == 1  # a cancel stops one run


def test_spawns_asked_for_together_reach_the_zygote_together_and_fail_alone(driver, monkeypatch):
    """Spawns that queue while the zygote is busy go in one request; the
    zygote forks them back to back, and one it cannot start fails alone."""
    pool, launcher = driver._pools.get(PYTHON.id), driver._launcher
    spares = driver.settings.spare_workers
    wait_until(lambda: len(driver._spares._spares.get(PYTHON.id, [])) == spares)  # root made
    requests = []
    send = pool.zygote._request_locked
    monkeypatch.setattr(
        pool.zygote, "_request_locked", lambda batch: requests.append(len(batch)) or send(batch)
    )
    plan = launcher._plan

    def another_root_for_the_last(worker, definition):
        found = plan(worker, definition)
        return found | {"rootfs": "/elsewhere"} if worker.name == "spare-last" else found

    monkeypatch.setattr(launcher, "_plan", another_root_for_the_last)

    def spawn():
        return launcher.spawn(PYTHON.id, pool.definition, pool.zygote, pool.generation)

    with concurrent.futures.ThreadPoolExecutor(6) as threads:
        with pool.zygote._lock:  # busy: the spawns queue
            started = [threads.submit(spawn) for _ in range(5)]
            wait_until(lambda: len(pool.zygote._queue) == 5)
            monkeypatch.setattr(launcher, "_counter", iter(["last"]))
            refused = threads.submit(spawn)
            wait_until(lambda: len(pool.zygote._queue) == 6)
        workers = [start.result() for start in started]
    with pytest.raises(exceptions.OrchestratorError, match="one root layout"):
        refused.result()
    try:
        assert requests == [6]
        assert len({worker.pid for worker in workers}) == 5
        assert all(worker.alive() for worker in workers)
    finally:
        for worker in workers:
            launcher.stop(worker)


def test_a_zygote_that_died_is_started_again_for_the_next_cold_start(driver, function):
    """Its spares die with it (their lifeline closes), maybe only as the
    cold start takes one; the next cold start forks from a new zygote."""
    zygote = driver._pools.get(PYTHON.id).zygote
    wait_until(lambda: len(driver._spares._spares.get(PYTHON.id, [])) == 2)
    died = zygote._process
    assert died is not None
    died.kill()
    died.wait()

    result = execute(driver, function(COUNTER))

    assert result.success and result.output == 1 and result.cold_start, result
    assert zygote._process is not None and zygote._process.pid != died.pid


def test_workers_run_under_the_normal_policy_though_started_from_a_batch_thread(config, function):
    """The API's threads run under SCHED_BATCH (``[api] batch_scheduling``),
    and a runtime's zygote may be started from one of them."""
    before = os.sched_getscheduler(0)
    os.sched_setscheduler(0, os.SCHED_BATCH, os.sched_param(0))
    try:
        with started_driver(config) as driver:
            spec = function("import os\n\ndef main():\n    return os.sched_getscheduler(0)\n")
            assert execute(driver, spec).output == os.SCHED_OTHER
    finally:
        os.sched_setscheduler(0, before, os.sched_param(0))
