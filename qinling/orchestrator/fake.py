"""An in-process driver for tests: runs Python packages in threads.

It keeps the contract's bookkeeping (pools, warm workers per function
version, scaling, reaping) so the API and engine can be tested without a
sandbox, but it isolates nothing and cannot stop a function that overruns
its timeout (the thread is abandoned). Never use it in production.
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import io
import itertools
import json
import shutil
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Iterator
from concurrent import futures
from typing import Any

from qinling import exceptions
from qinling.orchestrator import base
from qinling.orchestrator.early_cancels import EarlyCancels


class _ThreadRouted:
    """Stands in for sys.stdout or sys.stderr: what a thread running a
    function prints goes to that run's logs, anything else where it went.

    Functions run side by side in threads; swapping the process-wide stream
    per call would mix their logs (or, under a lock, run them one at a time).
    """

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.local = threading.local()

    def write(self, text: str) -> int:
        return (getattr(self.local, "buffer", None) or self.stream).write(text)

    def flush(self) -> None:
        (getattr(self.local, "buffer", None) or self.stream).flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


_routing = threading.Lock()


@contextlib.contextmanager
def _printed_into(buffer: io.StringIO) -> Iterator[None]:
    """Route this thread's prints into ``buffer`` for the duration."""
    with _routing:
        routed = []
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if not isinstance(stream, _ThreadRouted):  # a test runner may swap them
                stream = _ThreadRouted(stream)
                setattr(sys, name, stream)
            routed.append(stream)
    for stream in routed:
        stream.local.buffer = buffer
    try:
        yield
    finally:
        for stream in routed:
            stream.local.buffer = None


class _Worker:
    def __init__(self, name: str, spec: base.FunctionSpec) -> None:
        self.name = name
        self.spec = spec
        self.state = base.WorkerState.IDLE
        self.idle_since = time.monotonic()
        self.module: Any = None


class FakeOrchestrator(base.Orchestrator):
    def __init__(self, conf=None) -> None:
        self._lock = threading.Lock()
        self._pools: dict[str, base.RuntimeSpec] = {}
        self._workers: dict[tuple[str, int], list[_Worker]] = {}
        self._names = itertools.count(1)
        self._tmp = tempfile.mkdtemp(prefix="qinling-fake-")
        self._threads = futures.ThreadPoolExecutor(max_workers=32, thread_name_prefix="fake-fn")
        # Execution id -> set when it ends or is cancelled; ids in _cancelled were.
        self._running: dict[str, threading.Event] = {}
        self._cancelled: set[str] = set()
        self._early_cancels = EarlyCancels()

    def start(self) -> None:
        return None

    def stop(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)
        shutil.rmtree(self._tmp, ignore_errors=True)

    def create_pool(self, runtime: base.RuntimeSpec) -> None:
        if not runtime.image.startswith(("python", "openstackqinling/python")):
            raise exceptions.OrchestratorError(
                f"Unknown runtime image '{runtime.image}'; the fake driver knows 'python3'."
            )
        with self._lock:
            self._pools[runtime.id] = runtime

    def update_pool(self, runtime: base.RuntimeSpec) -> None:
        self.create_pool(runtime)

    def delete_pool(self, runtime_id: str) -> None:
        with self._lock:
            self._pools.pop(runtime_id, None)

    def get_pool(self, runtime_id: str) -> base.PoolInfo:
        with self._lock:
            if runtime_id not in self._pools:
                raise exceptions.NotFound.of("Runtime pool", runtime_id)
            count = sum(len(ws) for ws in self._workers.values())
        return base.PoolInfo(
            name=runtime_id,
            total=1000,
            available=1000 - count,
            workers=count,
            warnings=("fake orchestrator: functions are not isolated",),
        )

    def run_execution(
        self, spec: base.FunctionSpec, request: base.ExecutionRequest
    ) -> base.ExecutionResult:
        with self._lock:
            if spec.runtime.id not in self._pools:
                raise exceptions.OrchestratorError(f"Runtime {spec.runtime.id} has no pool.")
        with self._lock:
            if self._early_cancels.take(request.execution_id):
                return base.ExecutionResult(success=False, output=base.CANCELLED_OUTPUT)
            self._running[request.execution_id] = threading.Event()
        try:
            worker, cold = self._acquire(spec)
            try:
                return self._run_on(worker, cold, request)
            finally:
                self._release(worker)
        finally:
            with self._lock:
                del self._running[request.execution_id]
                self._cancelled.discard(request.execution_id)

    def cancel_execution(self, execution_id: str) -> bool:
        with self._lock:
            ended = self._running.get(execution_id)
            if ended is None:
                self._early_cancels.remember(execution_id)
                return False
            self._cancelled.add(execution_id)
        ended.set()
        return True

    def _acquire(self, spec: base.FunctionSpec) -> tuple[_Worker, bool]:
        with self._lock:
            workers = self._workers.setdefault(spec.key, [])
            workers[:] = [
                w
                for w in workers
                if w.spec.package_digest == spec.package_digest or w.state == base.WorkerState.BUSY
            ]
            for worker in workers:
                if worker.state == base.WorkerState.IDLE and worker.spec == spec:
                    worker.state = base.WorkerState.BUSY
                    return worker, False
            worker = _Worker(f"fake-{spec.function_id[:8]}-{next(self._names)}", spec)
            worker.state = base.WorkerState.BUSY
            workers.append(worker)
            return worker, True

    def _release(self, worker: _Worker) -> None:
        with self._lock:
            worker.state = base.WorkerState.IDLE
            worker.idle_since = time.monotonic()

    def _run_on(
        self, worker: _Worker, cold: bool, request: base.ExecutionRequest
    ) -> base.ExecutionResult:
        init = 0.0
        if worker.module is None:
            started = time.monotonic()
            try:
                worker.module = self._load(worker)
            except Exception as err:  # the function's own import failed
                return base.ExecutionResult(
                    success=False,
                    output=f"{type(err).__name__}: {err}",
                    cold_start=cold,
                    worker_name=worker.name,
                )
            init = time.monotonic() - started
        with self._lock:
            ended = self._running[request.execution_id]
            cancelled = request.execution_id in self._cancelled
        if cancelled:
            return base.ExecutionResult(success=False, output=base.CANCELLED_OUTPUT)
        call = self._threads.submit(self._call, worker, request)
        call.add_done_callback(lambda _: ended.set())
        ended.wait(worker.spec.timeout)
        if not call.done():
            # A thread cannot be killed: the worker is abandoned with it.
            self._discard(worker)
            with self._lock:
                cancelled = request.execution_id in self._cancelled
            if cancelled:
                return base.ExecutionResult(
                    success=False, output=base.CANCELLED_OUTPUT, worker_name=worker.name
                )
            return base.ExecutionResult(
                success=False,
                output=base.TIMEOUT_OUTPUT,
                duration=float(worker.spec.timeout),
                cold_start=cold,
                worker_name=worker.name,
            )
        success, output, logs, duration = call.result()
        return base.ExecutionResult(
            success=success,
            output=output,
            duration=duration,
            logs=logs,
            cold_start=cold,
            init_duration=init if cold else None,
            worker_name=worker.name,
        )

    def _load(self, worker: _Worker) -> Any:
        spec = worker.spec
        target = tempfile.mkdtemp(dir=self._tmp)
        with zipfile.ZipFile(spec.package_path) as archive:
            archive.extractall(target)
        module_name, _, _ = (spec.entry or "main.main").rpartition(".")
        path = f"{target}/{module_name.replace('.', '/')}.py"
        loader_spec = importlib.util.spec_from_file_location(f"fake_fn_{worker.name}", path)
        if loader_spec is None or loader_spec.loader is None:
            raise ImportError(f"No module {module_name} in the package")
        module = importlib.util.module_from_spec(loader_spec)
        loader_spec.loader.exec_module(module)
        return module

    def _call(
        self, worker: _Worker, request: base.ExecutionRequest
    ) -> tuple[bool, Any, str, float]:
        func = getattr(worker.module, (worker.spec.entry or "main.main").rpartition(".")[2])
        args, kwargs = _arguments(func, request)
        out = io.StringIO()
        started = time.monotonic()
        with _printed_into(out):
            try:
                result, success = func(*args, **kwargs), True
            except Exception as err:
                result, success = f"{type(err).__name__}: {err}", False
        output = result if _is_json(result) else str(result)
        return success, output, out.getvalue(), time.monotonic() - started

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            workers = self._workers.get(worker.spec.key, [])
            if worker in workers:
                workers.remove(worker)

    def scale_up(self, spec: base.FunctionSpec, count: int) -> list[base.WorkerInfo]:
        with self._lock:
            workers = self._workers.setdefault(spec.key, [])
            new = [
                _Worker(f"fake-{spec.function_id[:8]}-{next(self._names)}", spec)
                for _ in range(count)
            ]
            workers.extend(new)
        return [self._info(w) for w in new]

    def scale_down(self, function_id: str, version: int, count: int) -> int:
        with self._lock:
            workers = self._workers.get((function_id, version), [])
            idle = [w for w in workers if w.state == base.WorkerState.IDLE][:count]
            for worker in idle:
                workers.remove(worker)
        return len(idle)

    def delete_function(self, function_id: str, version: int | None = None) -> None:
        with self._lock:
            for key in list(self._workers):
                if key[0] == function_id and version in (None, key[1]):
                    del self._workers[key]

    def list_workers(self, function_id: str, version: int | None = None) -> list[base.WorkerInfo]:
        with self._lock:
            return [
                self._info(w)
                for key, ws in self._workers.items()
                for w in ws
                if key[0] == function_id and version in (None, key[1])
            ]

    def reap_idle(self, max_idle_seconds: float) -> int:
        deadline = time.monotonic() - max_idle_seconds
        reaped = 0
        with self._lock:
            for workers in self._workers.values():
                stale = [
                    w
                    for w in workers
                    if w.state == base.WorkerState.IDLE and w.idle_since < deadline
                ]
                for worker in stale:
                    workers.remove(worker)
                reaped += len(stale)
        return reaped

    @staticmethod
    def _info(worker: _Worker) -> base.WorkerInfo:
        return base.WorkerInfo(
            name=worker.name,
            function_id=worker.spec.function_id,
            version=worker.spec.version,
            state=worker.state,
        )


def _arguments(func: Any, request: base.ExecutionRequest) -> tuple[list, dict]:
    params = inspect.signature(func).parameters
    wants_context = "context" in params or any(
        p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()
    )
    kwargs: dict[str, Any] = {"context": request.context} if wants_context else {}
    if isinstance(request.input, dict):
        return [], kwargs | request.input
    if request.input is None:
        return [], kwargs
    return [request.input], kwargs


def _is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
