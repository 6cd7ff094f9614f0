"""A split deployment (qinling-api + qinling-engine) on private brokers.

PostgreSQL and RabbitMQ are started once per session from temporary
directories (see ``brokers``); a test may stop, start or kill them, and the
next test finds them running again. Every process a test starts is stopped
when it ends, pass or fail.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
from collections.abc import Iterator

import pytest
import requests
import sqlalchemy as sa

from tests import processes
from tests.functional import server
from tests.functional.faults.brokers import PrivatePostgres, PrivateRabbitMQ

FINAL = {"success", "failed", "error", "cancelled"}

# Short enough that lost and abandoned executions are dealt with in seconds.
FAST_REAPING = {
    "periodic_interval": 1,
    "job_check_interval": 1,
    "pickup_timeout": 3,
    "execution_grace": 2,
}


@pytest.fixture(scope="session")
def private_postgres() -> Iterator[PrivatePostgres]:
    instance = PrivatePostgres()
    try:
        instance.start()
        yield instance
    finally:
        instance.destroy()


@pytest.fixture(scope="session")
def private_rabbitmq() -> Iterator[PrivateRabbitMQ]:
    instance = PrivateRabbitMQ()
    try:
        instance.start()
        yield instance
    finally:
        instance.destroy()


@pytest.fixture
def postgres(private_postgres: PrivatePostgres) -> PrivatePostgres:
    if not private_postgres.running():  # an earlier test failed mid-outage
        private_postgres.start()
    return private_postgres


@pytest.fixture
def rabbitmq(private_rabbitmq: PrivateRabbitMQ) -> PrivateRabbitMQ:
    if not private_rabbitmq.running():
        private_rabbitmq.start()
    return private_rabbitmq


class Deployment:
    """qinling-api and any number of qinling-engine processes, driven by HTTP."""

    def __init__(self, tmp_path, db_url: str, transport_url: str, **overrides) -> None:
        self.tmp_path = tmp_path
        self.port = processes.free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._sections = {
            "DEFAULT": {"state_dir": tmp_path, "transport_url": transport_url},
            "api": {"host": "127.0.0.1", "port": self.port, "sync_execution_margin": 3},
            "database": {"connection": db_url, "pool_timeout": 3},
            "engine": {"orchestrator": server.ORCHESTRATOR} | FAST_REAPING,
        }
        self.configure(**overrides)
        self.api: processes.Service | None = None
        self.engines: dict[str, processes.Service] = {}
        self._runs = 0

    def configure(self, **overrides) -> None:
        """Options for the processes started from now on, as ``group__name=value``."""
        for key, value in overrides.items():
            group, _, name = key.partition("__")
            self._sections.setdefault(group, {})[name] = value

    def _config(self, name: str, engine_host: str | None = None) -> str:
        sections = json.loads(json.dumps(self._sections, default=str))
        if engine_host:
            sections["engine"]["host"] = engine_host
        return processes.write_config(str(self.tmp_path / f"{name}.conf"), sections)

    def migrate(self) -> None:
        subprocess.run(
            [os.path.join(processes.BIN, "qinling-db-manage"), "--config-file"]
            + [self._config("migrate"), "upgrade"],
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start_api(self) -> None:
        self.api = processes.Service("qinling-api", self._config("api"), self._log("api"))
        self.api.wait_http(self.base + "/")

    def start_engine(self, host: str) -> processes.Service:
        config = self._config(host, engine_host=host)
        engine = processes.Service("qinling-engine", config, self._log(host))
        self.engines[host] = engine
        return engine

    def kill_engine(self, host: str) -> None:
        """SIGKILL the engine's whole process group: no cleanup of any kind."""
        engine = self.engines[host]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(engine.process.pid, signal.SIGKILL)
        engine.process.wait(10)

    def _log(self, name: str) -> str:
        self._runs += 1
        return str(self.tmp_path / f"{name}-{self._runs}.log")

    def stop(self) -> None:
        for engine in self.engines.values():
            engine.stop()
        if self.api is not None:
            self.api.stop()

    def details(self) -> str:
        parts = []
        for name, service in [("api", self.api), *self.engines.items()]:
            if service is not None:
                tail = "\n".join(service.log().splitlines()[-40:])
                parts.append(f"\n--- {name} log (tail):\n{tail}")
        return "".join(parts)

    # HTTP -----------------------------------------------------------------

    def url(self, path: str) -> str:
        return self.base + path

    def check(self, response: requests.Response, status: int) -> dict:
        return processes.checked(response, status, self.details())

    def runtime(self) -> str:
        response = requests.post(self.url("/v1/runtimes"), json={"image": "python3"})
        created = self.check(response, 201)
        return processes.wait_for(
            lambda: (
                created["id"]
                if requests.get(self.url(f"/v1/runtimes/{created['id']}")).json()["status"]
                == "available"
                else None
            ),
            deadline=60,
            what="runtime available",
            details=self.details,
        )

    def function(self, runtime_id: str, source: str, **fields) -> str:
        data = {
            "runtime_id": runtime_id,
            "entry": "main.main",
            "code": json.dumps({"source": "package"}),
        } | fields
        response = requests.post(
            self.url("/v1/functions"),
            data=data,
            files={"package": ("f.zip", server.zip_source({"main.py": source}))},
        )
        return self.check(response, 201)["id"]

    def started_on(self, host: str) -> int:
        """Executions engine ``host`` is running now, as the database says
        (the API does not show which engine runs an execution)."""
        engine = sa.create_engine(self._sections["database"]["connection"])
        try:
            with engine.connect() as conn:
                return conn.execute(
                    sa.text(
                        "SELECT count(*) FROM executions WHERE status = 'running' "
                        "AND engine_host = :host AND started_at IS NOT NULL"
                    ),
                    {"host": host},
                ).scalar_one()
        finally:
            engine.dispose()

    def executions(self, ids: set[str]) -> dict[str, dict]:
        rows = requests.get(self.url("/v1/executions"), params={"limit": 1000}).json()
        return {row["id"]: row for row in rows["executions"] if row["id"] in ids}

    def wait_all_final(self, ids: set[str], deadline: float = 60) -> dict[str, dict]:
        """Every execution in ``ids`` in a final state; fails naming the others."""

        def all_final():
            rows = self.executions(ids)
            return (
                rows
                if len(rows) == len(ids) and all(r["status"] in FINAL for r in rows.values())
                else None
            )

        try:
            return processes.wait_for(all_final, deadline=deadline, what="final states")
        except AssertionError:
            rows = self.executions(ids)
            missing = ids - rows.keys()
            stuck = sorted(i for i, r in rows.items() if r["status"] not in FINAL)
            raise AssertionError(
                f"{len(missing)} execution(s) lost {sorted(missing)[:5]}, {len(stuck)} stuck "
                f"running {stuck[:5]}{self.details()}"
            ) from None


@pytest.fixture
def deployment(tmp_path, postgres, rabbitmq) -> Iterator[Deployment]:
    """The API and no engine yet, on a fresh database of the private PostgreSQL."""
    deployment = Deployment(tmp_path, postgres.new_database(), rabbitmq.url)
    deployment.migrate()
    try:
        deployment.start_api()
        yield deployment
    finally:
        deployment.stop()


def output(row: dict):
    return json.loads(row["result"])["output"] if row.get("result") else None
