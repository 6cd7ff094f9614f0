"""Qinling's Python runtime agent: runs one function inside a sandboxed worker.

The zygote imports this module once; every worker forked from it calls
``serve``. The worker has already been sandboxed (see
qinling/orchestrator/local/_sandbox/jail.py): fd 3 is its end of a Unix
socket pair with the driver, its channel. The worker ends when the channel
closes.

Protocol, on the channel: the agent first sends a hello
``{"ready": true, "init_duration": s[, "load_error": msg, "logs": text]}``,
then answers each request ``{"input": ..., "context": {...}}`` with
``{"success", "output", "duration", "logs", "stdio_intact"}``. Frames are a 4-byte
big-endian length and UTF-8 JSON.

Calling convention (as OpenStack Qinling): a JSON object input becomes
keyword arguments, ``None`` no argument, anything else one positional
argument; ``context`` is passed as a keyword when the function accepts a
``context`` parameter or ``**kwargs``. The return value is the output (if it
is not JSON-serialisable, its ``str()``). stdout and stderr, including those
of child processes, are the logs.

This file imports the standard library only and nothing of the service.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import signal
import socket
import struct
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any

_HEADER = struct.Struct(">I")
_MAX_REQUEST = 64 * 1024 * 1024


class _Logs:
    """stdout and stderr (fds 1 and 2) go to an in-memory file read after each call."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.fd = os.memfd_create("qinling-logs")
        appender = os.open(f"/proc/self/fd/{self.fd}", os.O_WRONLY | os.O_APPEND)
        os.dup2(appender, 1)
        os.dup2(appender, 2)
        os.close(appender)
        info = os.fstat(self.fd)
        self._identity = (info.st_dev, info.st_ino)

    def take(self) -> str:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):
                pass
        size = os.fstat(self.fd).st_size
        if not size:
            return ""
        data = os.pread(self.fd, min(size, self.limit), 0)
        os.ftruncate(self.fd, 0)
        text = data.decode("utf-8", errors="replace")
        if size > self.limit:
            text += f"\n[logs truncated: {size} bytes written, the limit is {self.limit} bytes]"
        return text

    def intact(self) -> bool:
        """Whether fds 1 and 2 are still this log file (a function may close
        or replace them: the worker is then replaced)."""
        for fd in (1, 2):
            try:
                info = os.fstat(fd)
            except OSError:
                return False
            if (info.st_dev, info.st_ino) != self._identity:
                return False
        return True


def serve(channel_fd: int, config: dict[str, Any]) -> None:
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    if config.get("python"):
        sys.executable = config["python"]
    logs = _Logs(config["max_logs"])
    sys.dont_write_bytecode = True  # the package is read-only: do not even try
    started = time.monotonic()
    function, load_error = _load(config["entry"], config["package_dir"])
    hello: dict[str, Any] = {"ready": True, "init_duration": time.monotonic() - started}
    if load_error:
        hello["load_error"] = load_error
        hello["logs"] = logs.take()
    with socket.socket(fileno=channel_fd) as channel:
        _send(channel, hello)
        _serve_connection(channel, function, load_error, config, logs)


def _serve_connection(
    conn: socket.socket,
    function: Callable[..., Any] | None,
    load_error: str | None,
    config: dict[str, Any],
    logs: _Logs,
) -> None:
    while True:
        request = _recv(conn)
        if request is None:
            return
        if function is None:
            reply = {"success": False, "output": load_error, "duration": 0.0, "logs": ""}
        else:
            reply = _execute(function, request, config["max_output"], logs)
        _send(conn, reply)
        _end_leftover_processes()


def rehearse(directory: str) -> None:
    """Walk the paths every worker takes at load, before it has a function.

    A spare worker calls this while it waits: the pages those paths write
    (copy-on-write copies of the zygote's, fresh allocations) are then
    faulted in off the cold start's critical path. Every worker touches
    most of them when it loads its function anyway (measured: +0.09 MB of
    private memory per attached worker).
    """
    name = "_qinling_rehearsal"
    path = os.path.join(directory, name + ".py")
    with open(path, "w") as f:
        f.write("def main(**kwargs):\n    return {'ok': kwargs}\n")
    saved = list(sys.path)
    sys.dont_write_bytecode = True
    try:
        _load(name + ".main", directory)
    finally:
        sys.path[:] = saved
        sys.modules.pop(name, None)
        importlib.invalidate_caches()
        os.unlink(path)


def _load(entry: str, package_dir: str) -> tuple[Callable[..., Any] | None, str | None]:
    module_name, _, function_name = entry.rpartition(".")
    prefix = sys.base_prefix
    sys.path[:] = [package_dir] + [p for p in sys.path if p.startswith(prefix)]
    try:
        module = importlib.import_module(module_name or "main")
        function = getattr(module, function_name)
        if not callable(function):
            raise TypeError(f"{entry} is not callable")
        return function, None
    except BaseException as exc:  # the user's code may raise anything
        traceback.print_exc()
        return None, f"Failed to load function {entry!r}: {type(exc).__name__}: {exc}"


def _execute(
    function: Callable[..., Any], request: dict[str, Any], max_output: int, logs: _Logs
) -> dict[str, Any]:
    args, kwargs = _arguments(
        request.get("input"), request.get("context") or {}, _wants_context(function)
    )
    agent_pid = os.getpid()
    started = time.monotonic()
    try:
        value = function(*args, **kwargs)
        success, output = True, _jsonable(value)
    except BaseException as exc:  # the user's code may raise anything
        if os.getpid() != agent_pid:
            os._exit(1)
        traceback.print_exc()
        success, output = False, f"{type(exc).__name__}: {exc}"
    if os.getpid() != agent_pid:
        os._exit(0)  # a child the function forked returned through the agent
    duration = time.monotonic() - started
    return {
        "success": success,
        "output": _capped(output, max_output),
        "duration": duration,
        "logs": logs.take(),
        "stdio_intact": logs.intact(),
    }


def _arguments(
    value: Any, context: dict[str, Any], wants_context: bool
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = {}
    if isinstance(value, dict):
        kwargs = dict(value)
    elif value is not None:
        args = (value,)
    if wants_context:
        kwargs["context"] = context
    return args, kwargs


_signatures: dict[int, bool] = {}


def _wants_context(function: Callable[..., Any]) -> bool:
    key = id(function)
    if key not in _signatures:
        _signatures[key] = _accepts_context(function)
    return _signatures[key]


def _accepts_context(function: Callable[..., Any]) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    for parameter in parameters:
        if parameter.kind is inspect.Parameter.VAR_KEYWORD:
            return True
        if parameter.name == "context" and parameter.kind is not inspect.Parameter.POSITIONAL_ONLY:
            return True
    return False


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError, RecursionError):
        return str(value)
    return value


def _capped(output: Any, limit: int) -> Any:
    if isinstance(output, str) and len(output) * 4 <= limit:
        return output  # fast path: cannot exceed the limit once encoded
    text = output if isinstance(output, str) else json.dumps(output)
    data = text.encode()
    if len(data) <= limit:
        return output
    cut = data[:limit].decode("utf-8", errors="ignore")
    return f"{cut}\n[output truncated: {len(data)} bytes, the limit is {limit} bytes]"


def _end_leftover_processes() -> None:
    """As pid 1 of the worker's namespace, end what the last execution left running."""
    if os.getpid() != 1:
        return  # unsafe development mode: kill(-1) would reach the whole host
    # Every other process of the namespace descends from pid 1, and an orphan
    # comes back to it: without a child there is none. kill(-1) would walk
    # every process of the host to find out (measured: 5% of a warm
    # execution's CPU in the worker with ~200 processes on the host).
    try:
        os.waitpid(-1, os.WNOHANG)  # reaps one that has exited; either way there was one
    except ChildProcessError:
        return
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _send(conn: socket.socket, message: Any) -> None:
    body = json.dumps(message, separators=(",", ":")).encode()
    conn.sendall(_HEADER.pack(len(body)) + body)


def _recv(conn: socket.socket) -> Any:
    # One recv takes a whole small request (the server sends one at a time).
    data = conn.recv(65536)
    if len(data) < _HEADER.size:
        rest = _read(conn, _HEADER.size - len(data)) if data else None
        if rest is None:
            return None
        data += rest
    (size,) = _HEADER.unpack_from(data)
    if size > _MAX_REQUEST:
        return None
    body = data[_HEADER.size :]
    if len(body) < size:
        rest = _read(conn, size - len(body))
        if rest is None:
            return None
        body += rest
    return json.loads(body)


def _read(conn: socket.socket, size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = conn.recv(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
