"""Starting and stopping Qinling: all-in-one, or split over RabbitMQ and PostgreSQL."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
import uuid
import zipfile
from collections.abc import Iterator

from bench import processes
from bench.http_client import JsonClient
from qinling import host_cpus
from qinling.conf.api import AUTO_PROCESSES, process_count

BIN = os.path.dirname(sys.executable)
TRIVIAL = "def main(**kwargs):\n    return 'ok'\n"
SLEEP_10MS = "import time\n\n\ndef main(**kwargs):\n    time.sleep(0.01)\n    return 'ok'\n"


def package(source: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("main.py", source)
    return buffer.getvalue()


class Qinling:
    """A running Qinling reached over HTTP, as a user drives it."""

    def __init__(self, port: int, services: list[processes.Service], mode: str) -> None:
        self.host, self.port = "127.0.0.1", port
        self.services = services
        self.mode = mode
        self.api = self.client()
        self._runtime: str | None = None

    @property
    def server_pid(self) -> int:
        """The process that runs executions (the engine in split mode)."""
        return self.services[-1].pid

    def client(self) -> JsonClient:
        return JsonClient(self.host, self.port)

    def runtime(self) -> str:
        if self._runtime is None:
            created = self.api.request("POST", "/v1/runtimes", {"image": "python3"})
            runtime_id = created["id"]

            def available() -> bool:
                status = self.api.request("GET", f"/v1/runtimes/{runtime_id}")["status"]
                if status == "error":
                    raise RuntimeError(f"runtime {runtime_id} failed")
                return status == "available"

            processes.wait_for(available, 60, "the python3 runtime")
            self._runtime = runtime_id
        return self._runtime

    def function(self, source: str = TRIVIAL, concurrency: int | None = None) -> str:
        fields = {
            "runtime_id": self.runtime(),
            "code": json.dumps({"source": "package"}),
            "entry": "main.main",
        }
        if concurrency:
            fields["concurrency"] = str(concurrency)
        created = self.api.post_multipart("/v1/functions", fields, {"package": package(source)})
        return created["id"]

    def execute(self, client: JsonClient, function_id: str, sync: bool = True) -> dict:
        body = {"function_id": function_id, "sync": sync, "input": {}}
        row = client.request("POST", "/v1/executions", body)
        if sync and row["status"] != "success":
            raise RuntimeError(f"execution failed: {row}")
        return row

    def scale_up(self, function_id: str, count: int) -> None:
        self.api.request("POST", f"/v1/functions/{function_id}/scale_up", {"count": count})

    def workers(self, function_id: str) -> list[dict]:
        return self.api.request("GET", f"/v1/functions/{function_id}/workers")["workers"]

    def delete_function(self, function_id: str) -> None:
        self.api.request("DELETE", f"/v1/functions/{function_id}", expect=(204, 409))


def _write_config(path: str, sections: dict[str, dict[str, object]]) -> str:
    with open(path, "w") as f:
        for section, options in sections.items():
            f.write(f"[{section}]\n")
            for key, value in options.items():
                f.write(f"{key} = {value}\n")
            f.write("\n")
    return path


def _sections(state_dir: str, port: int, overrides: dict | None) -> dict:
    sections: dict[str, dict[str, object]] = {
        "DEFAULT": {"state_dir": state_dir},
        "api": {"host": "127.0.0.1", "port": port},
        "engine": {"orchestrator": "local"},
    }
    for group, options in (overrides or {}).items():
        sections.setdefault(group, {}).update(options)
    return sections


@contextlib.contextmanager
def all_in_one(overrides: dict | None = None) -> Iterator[Qinling]:
    with tempfile.TemporaryDirectory(prefix="qinling-bench-") as state_dir:
        port = processes.free_port()
        config = _write_config(
            os.path.join(state_dir, "qinling.conf"), _sections(state_dir, port, overrides)
        )
        server = processes.Service(
            [os.path.join(BIN, "qinling-server"), "--config-file", config],
            os.path.join(state_dir, "server.log"),
        )
        try:
            server.wait_http(f"http://127.0.0.1:{port}/")
            configured = int((overrides or {}).get("api", {}).get("processes", AUTO_PROCESSES))
            _wait_listening(server, process_count(configured, host_cpus.usable()))
            yield Qinling(port, [server], "all-in-one")
        except Exception:
            _show_logs([server])
            raise
        finally:
            server.stop()


def _wait_listening(server: processes.Service, count: int) -> None:
    """Until each of ``[api] processes`` listens: the first answers while the
    others still start (about a second), and the kernel hands a connection
    to one of those listening when it is made."""

    def all_listen() -> bool:
        with open(server.log_path, errors="replace") as log:
            return log.read().count("Qinling API listening on") >= count

    processes.wait_for(all_listen, 60, f"{count} API processes to listen")


def _show_logs(services: list[processes.Service]) -> None:
    for service in services:
        print(f"--- {service.argv[0]} log (tail) ---\n{service.log_tail()}", file=sys.stderr)


def _run(argv: list[str]) -> None:
    subprocess.run(argv, check=True, capture_output=True, timeout=120)


@contextlib.contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    vhost = f"qinling-bench-{uuid.uuid4().hex[:8]}"
    _run(["rabbitmqctl", "-q", "add_vhost", vhost])
    try:
        _run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"])
        yield f"rabbit://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], capture_output=True)


@contextlib.contextmanager
def postgres_database() -> Iterator[str]:
    name = f"qinling_bench_{uuid.uuid4().hex[:8]}"
    psql = ["psql", "-h", "127.0.0.1", "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-c"]
    _run([*psql, f"CREATE DATABASE {name}"])
    try:
        yield f"postgresql+psycopg2://postgres@127.0.0.1:5432/{name}"
    finally:
        subprocess.run([*psql, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"], capture_output=True)


@contextlib.contextmanager
def split(overrides: dict | None = None, *, data_socket: bool = False) -> Iterator[Qinling]:
    """qinling-api and qinling-engine, a vhost and a database of their own;
    with ``data_socket`` sync executions take the engine's Unix socket."""
    with (
        tempfile.TemporaryDirectory(prefix="qinling-bench-") as state_dir,
        rabbitmq_vhost() as transport_url,
        postgres_database() as db_url,
    ):
        port = processes.free_port()
        sections = _sections(state_dir, port, overrides)
        sections["DEFAULT"]["transport_url"] = transport_url
        sections.setdefault("database", {})["connection"] = db_url
        if data_socket:
            sections["engine"]["data_socket"] = os.path.join(state_dir, "engine.sock")
        config = _write_config(os.path.join(state_dir, "qinling.conf"), sections)
        _run([os.path.join(BIN, "qinling-db-manage"), "--config-file", config, "upgrade"])
        engine = processes.Service(
            [os.path.join(BIN, "qinling-engine"), "--config-file", config],
            os.path.join(state_dir, "engine.log"),
        )
        api = processes.Service(
            [os.path.join(BIN, "qinling-api"), "--config-file", config],
            os.path.join(state_dir, "api.log"),
        )
        try:
            api.wait_http(f"http://127.0.0.1:{port}/")
            yield Qinling(port, [api, engine], "split")
        except Exception:
            _show_logs([api, engine])
            raise
        finally:
            api.stop()
            engine.stop()
