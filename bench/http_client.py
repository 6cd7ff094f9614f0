"""A keep-alive JSON client over http.client, and a small threaded load driver."""

from __future__ import annotations

import functools
import http.client
import itertools
import json
import select
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any


class HttpError(Exception):
    pass


class JsonClient:
    """One keep-alive connection (http.client sets TCP_NODELAY)."""

    def __init__(self, host: str, port: int, timeout: float = 120.0) -> None:
        self._conn = http.client.HTTPConnection(host, port, timeout=timeout)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict | None = None,
        expect: tuple[int, ...] = (200, 201, 202, 204),
    ) -> Any:
        sent = dict(headers or {})
        payload = raw
        if body is not None:
            payload = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        if self._dropped():
            self._conn.close()  # reconnect rather than send into a closing connection
        try:
            try:
                self._conn.request(method, path, body=payload, headers=sent)
            except BrokenPipeError:  # the server closed the idle connection: nothing was sent
                self._conn.close()
                self._conn.request(method, path, body=payload, headers=sent)
            response = self._conn.getresponse()
            data = response.read()
        except (http.client.HTTPException, OSError):
            self._conn.close()  # reconnect on the next request
            raise
        if response.status not in expect:
            raise HttpError(f"{method} {path}: {response.status} {data[:300]!r}")
        if data and "json" in (response.getheader("Content-Type") or ""):
            return json.loads(data)
        return data

    def _dropped(self) -> bool:
        """Whether the server has closed the idle connection (it is readable:
        at its end, or with bytes nobody asked for). The server closes
        connections idle for its timeout; a request sent just then is lost
        with ``RemoteDisconnected`` (seen between the rounds of a scenario)."""
        sock = self._conn.sock
        if sock is None:
            return False
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))

    def post_multipart(self, path: str, fields: dict[str, str], files: dict[str, bytes]) -> Any:
        boundary = uuid.uuid4().hex
        parts = []
        for name, value in fields.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        for name, content in files.items():
            parts.append(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{name}.zip"\r\nContent-Type: application/zip\r\n\r\n'.encode()
                + content
                + b"\r\n"
            )
        parts.append(f"--{boundary}--\r\n".encode())
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        return self.request("POST", path, raw=b"".join(parts), headers=headers)

    def close(self) -> None:
        self._conn.close()


def time_calls(call: Callable[[], object], count: int) -> list[float]:
    """Seconds each of ``count`` sequential calls took."""
    return time_calls_interleaved([call], count)[0]


def _in_turn(items: list, turn: int) -> list:
    """``items`` with their indexes, in an order flipped every other turn."""
    indexed = list(enumerate(items))
    return indexed if turn % 2 == 0 else indexed[::-1]


def time_calls_interleaved(calls: list[Callable[[], object]], count: int) -> list[list[float]]:
    """``time_calls`` of each of ``calls``, one call of each in turn (the
    order flipped every other turn): a VM whose speed drifts within the run
    slows them alike."""
    samples: list[list[float]] = [[] for _ in calls]
    for turn in range(count):
        for index, call in _in_turn(calls, turn):
            started = time.perf_counter()
            call()
            samples[index].append(time.perf_counter() - started)
    return samples


def run_loads_interleaved(
    make_calls: list[Callable[[], Callable[[], object]]],
    concurrency: int,
    seconds: float,
    rounds: int,
    warm_up: float = 0.0,
) -> list[tuple[float, list[float], int]]:
    """``run_load`` of each of ``make_calls`` for ``seconds`` in all, in
    ``rounds`` turns of each (the order flipped every other round): a VM
    whose speed drifts within the run slows them alike. Each keeps its
    callers (their connections) from one turn to the next, and first has a
    turn of ``warm_up`` seconds, not counted. Per caller: its requests per
    second over its rounds, its latencies, its errors."""
    kept = [
        functools.partial(next, itertools.cycle([make() for _ in range(concurrency)]))
        for make in make_calls
    ]
    if warm_up > 0:
        for make_call in kept:
            run_load(make_call, concurrency, warm_up)
    done: list[list[tuple[float, list[float], int]]] = [[] for _ in make_calls]
    for turn in range(rounds):
        for index, make_call in _in_turn(kept, turn):
            done[index].append(run_load(make_call, concurrency, seconds / rounds))
    return [
        (
            sum(value for value, _, _ in mine) / rounds,  # rounds of equal length
            [sample for _, samples, _ in mine for sample in samples],
            sum(errors for _, _, errors in mine),
        )
        for mine in done
    ]


def run_load(
    make_call: Callable[[], Callable[[], object]], concurrency: int, seconds: float
) -> tuple[float, list[float], int]:
    """Closed-loop load: requests/s, per-request latencies and errors.

    ``make_call`` builds one caller per client thread (its own connection).
    """
    callers = [make_call() for _ in range(concurrency)]
    latencies: list[list[float]] = [[] for _ in callers]
    errors = [0]
    start = threading.Barrier(concurrency + 1)
    stop_at = [0.0]

    def client(index: int) -> None:
        call, mine = callers[index], latencies[index]
        start.wait()
        while True:
            began = time.perf_counter()
            if began >= stop_at[0]:
                return
            try:
                call()
            except Exception:
                errors[0] += 1
                continue
            mine.append(time.perf_counter() - began)

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    stop_at[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    merged = [x for mine in latencies for x in mine]
    return len(merged) / elapsed, merged, errors[0]
