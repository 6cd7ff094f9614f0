"""Latency of the local sandbox orchestrator itself, request to result.

Run as root on a host with cgroups::

    /work/main/.venv/bin/python bench/sandbox_bench.py [--cold 200] [--warm 5000]

Cold start: ``run_execution`` of a function version with no worker (the
worker is deleted after each run): package already extracted, fork from the
zygote, namespaces, cgroups, mounts, privilege drop, function import, one
call. Warm: ``run_execution`` on an idle worker of a trivial function.
"""

from __future__ import annotations

import argparse
import io
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
    "python3": ("main.py", "def main(name='x'):\n    return {'hello': name}\n"),
    "nodejs": ("main.js", "exports.main = (input) => ({ hello: input.name });\n"),
}


def _package(directory: str, runtime: str) -> str:
    name, source = FUNCTIONS[runtime]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(name, source)
    path = os.path.join(directory, f"{runtime}.zip")
    with open(path, "wb") as f:
        f.write(buffer.getvalue())
    return path


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


def bench(driver: LocalOrchestrator, directory: str, runtime: str, cold: int, warm: int) -> None:
    pool = base.RuntimeSpec(id=f"bench-{runtime}", image=runtime)
    driver.create_pool(pool)
    spec = base.FunctionSpec(
        function_id=f"bench-{runtime}",
        version=0,
        runtime=pool,
        package_path=_package(directory, runtime),
        package_digest=f"bench-{runtime}",
        memory_size=128 * 1024 * 1024,
        cpu=1000,
    )
    _timed(driver, spec)  # extracts the package once
    driver.delete_function(spec.function_id)
    cold_samples = []
    for _ in range(cold):
        cold_samples.append(_timed(driver, spec))
        driver.delete_function(spec.function_id)
    _timed(driver, spec)
    warm_samples = [_timed(driver, spec) for _ in range(warm)]
    print(f"{runtime:8s} cold start  {_percentiles(cold_samples)}")
    print(f"{runtime:8s} warm        {_percentiles(warm_samples)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cold", type=int, default=200)
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
                cold = args.cold if runtime == "python3" else max(1, args.cold // 4)
                bench(driver, directory, runtime, cold, args.warm)
        finally:
            driver.stop()


if __name__ == "__main__":
    main()
