"""Latency of the local sandbox orchestrator itself, request to result.

Run as root on a host with cgroups::

    /work/main/.venv/bin/python bench/sandbox_bench.py [--cold 200] [--warm 5000]

Cold start: ``run_execution`` of a function version with no worker (the
worker is deleted after each run): package already extracted, a worker
(a spare when one is ready), function import, one call. New function: the
first execution of a function never seen before (a new package digest each
time, so the package is extracted too); its worker stays, as in a service.
Throughput: new functions run by several threads at once, as fast as they
can; beyond ``[sandbox] max_workers`` the least recently used idle workers
are evicted. Warm: ``run_execution`` on an idle worker of a trivial function.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import io
import itertools
import os
import statistics
import sys
import tempfile
import time
import zipfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from qinling import conf as qinling_conf  # noqa: E402
from qinling.orchestrator import base  # noqa: E402
from qinling.orchestrator.local import LocalOrchestrator  # noqa: E402

FUNCTIONS = {
    "python3": ("main.py", "def main(name='x'):\n    return {'hello': name, 'n': %d}\n"),
    "nodejs": ("main.js", "exports.main = (input) => ({ hello: input.name, n: %d });\n"),
}
_numbers = itertools.count()


def _package(directory: str, runtime: str) -> tuple[str, str]:
    """A zip of a function that differs from every other one, and its digest."""
    number = next(_numbers)
    name, source = FUNCTIONS[runtime]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, source % number)
    path = os.path.join(directory, f"{runtime}-{number}.zip")
    with open(path, "wb") as f:
        f.write(buffer.getvalue())
    return path, f"bench-{runtime}-{number}"


def _spec(directory: str, pool: base.RuntimeSpec, function_id: str) -> base.FunctionSpec:
    path, digest = _package(directory, pool.image)
    return base.FunctionSpec(
        function_id=function_id,
        version=0,
        runtime=pool,
        package_path=path,
        package_digest=digest,
        memory_size=128 * 1024 * 1024,
        cpu=1000,
    )


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {p50 * 1000:8.3f} ms   p99 {p99 * 1000:8.3f} ms   (n={len(ordered)})"


def _timed(driver: LocalOrchestrator, spec: base.FunctionSpec) -> float:
    request = base.ExecutionRequest(execution_id="bench", input={"name": "bench"})
    started = time.perf_counter()
    result = driver.run_execution(spec, request)
    elapsed = time.perf_counter() - started
    if not result.success:
        raise SystemExit(f"execution failed: {result}")
    return elapsed


def bench_cold(driver: LocalOrchestrator, spec: base.FunctionSpec, count: int) -> list[float]:
    _timed(driver, spec)  # extracts the package once
    driver.delete_function(spec.function_id)
    samples = []
    for _ in range(count):
        samples.append(_timed(driver, spec))
        driver.delete_function(spec.function_id)
    return samples


def bench_new(
    driver: LocalOrchestrator, directory: str, pool: base.RuntimeSpec, count: int, gap: float
) -> list[float]:
    samples = []
    for i in range(count):
        samples.append(_timed(driver, _spec(directory, pool, f"new-{pool.image}-{i}")))
        time.sleep(gap)  # requests arrive apart, as they do through the API
    for i in range(count):
        driver.delete_function(f"new-{pool.image}-{i}")
    return samples


def bench_throughput(
    driver: LocalOrchestrator, directory: str, pool: base.RuntimeSpec, count: int, threads: int
) -> float:
    specs = [_spec(directory, pool, f"many-{pool.image}-{i}") for i in range(count)]
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(threads) as executor:
        for _ in executor.map(lambda spec: _timed(driver, spec), specs):
            pass
    elapsed = time.perf_counter() - started
    for spec in specs:
        driver.delete_function(spec.function_id)
    return count / elapsed


def bench(
    driver: LocalOrchestrator, directory: str, runtime: str, args: argparse.Namespace
) -> None:
    pool = base.RuntimeSpec(id=f"bench-{runtime}", image=runtime)
    driver.create_pool(pool)
    scale = 1 if runtime == "python3" else 4
    cold = bench_cold(driver, _spec(directory, pool, f"bench-{runtime}"), args.cold // scale)
    new = bench_new(driver, directory, pool, args.cold // scale, args.gap / 1000)
    rate = bench_throughput(driver, directory, pool, args.many // scale, args.threads)
    spec = _spec(directory, pool, f"warm-{runtime}")
    _timed(driver, spec)
    warm = [_timed(driver, spec) for _ in range(args.warm)]
    print(f"{runtime:8s} cold start    {_percentiles(cold)}")
    print(f"{runtime:8s} new function  {_percentiles(new)}")
    print(f"{runtime:8s} throughput    {rate:8.1f} new functions/s ({args.threads} threads)")
    print(f"{runtime:8s} warm          {_percentiles(warm)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=200)
    parser.add_argument("--gap", type=float, default=5.0, help="ms between new functions")
    parser.add_argument("--many", type=int, default=1000, help="new functions for throughput")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--warm", type=int, default=5000)
    parser.add_argument("--runtime", choices=sorted(FUNCTIONS), action="append")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        conf = qinling_conf.new_config([])
        conf.set_override("state_dir", directory)
        driver = LocalOrchestrator(conf)
        driver.start()
        try:
            for runtime in args.runtime or sorted(FUNCTIONS, reverse=True):
                bench(driver, directory, runtime, args)
        finally:
            driver.stop()


if __name__ == "__main__":
    main()
