"""A real qinling-server for functional tests, and helpers to drive it by HTTP."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import zipfile

import requests

from tests import processes

ORCHESTRATOR = os.environ.get("QINLING_TEST_ORCHESTRATOR", "local")


def zip_source(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@dataclasses.dataclass
class Server:
    base: str
    service: processes.Service

    def url(self, path: str) -> str:
        return self.base + path

    def details(self) -> str:
        return "\nServer log (tail):\n" + "\n".join(self.service.log().splitlines()[-80:])

    def check(self, response: requests.Response, status: int) -> dict:
        return processes.checked(response, status, self.details())

    def runtime(self, image: str = "python3") -> str:
        created = self.check(requests.post(self.url("/v1/runtimes"), json={"image": image}), 201)
        return processes.wait_for(
            lambda: (
                created["id"]
                if requests.get(self.url(f"/v1/runtimes/{created['id']}")).json()["status"]
                == "available"
                else None
            ),
            what="runtime available",
            details=self.details,
        )

    def function(
        self,
        runtime_id: str,
        source: str,
        *,
        entry: str = "main.main",
        module: str = "main.py",
        headers: dict | None = None,
        **fields,
    ) -> str:
        data = {
            "runtime_id": runtime_id,
            "entry": entry,
            "code": json.dumps({"source": "package"}),
        } | fields
        response = requests.post(
            self.url("/v1/functions"),
            data=data,
            headers=headers,
            files={"package": ("f.zip", zip_source({module: source}))},
        )
        return self.check(response, 201)["id"]

    def update_code(self, function_id: str, source: str, module: str = "main.py") -> None:
        response = requests.put(
            self.url(f"/v1/functions/{function_id}"),
            data={"code": json.dumps({"source": "package"})},
            files={"package": ("f.zip", zip_source({module: source}))},
        )
        self.check(response, 200)

    def execute(self, headers: dict | None = None, **body) -> dict:
        return self.check(
            requests.post(self.url("/v1/executions"), json=body, headers=headers), 201
        )

    def wait_final(self, execution_id: str, deadline: float = 60) -> dict:
        def final():
            row = requests.get(self.url(f"/v1/executions/{execution_id}")).json()
            return row if row["status"] != "running" else None

        return processes.wait_for(
            final, deadline=deadline, what=f"execution {execution_id}", details=self.details
        )


def start(tmp_dir: str, **overrides) -> Server:
    port = processes.free_port()
    sections = {
        "DEFAULT": {"state_dir": tmp_dir},
        "api": {"host": "127.0.0.1", "port": port},
        "engine": {"orchestrator": ORCHESTRATOR, "job_check_interval": 1, "periodic_interval": 2},
    }
    for key, value in overrides.items():
        group, _, name = key.partition("__")
        sections.setdefault(group, {})[name] = value
    config = processes.write_config(os.path.join(tmp_dir, "qinling.conf"), sections)
    service = processes.Service("qinling-server", config, os.path.join(tmp_dir, "server.log"))
    base = f"http://127.0.0.1:{port}"
    try:
        service.wait_http(base + "/")
    except BaseException:
        service.stop()
        raise
    return Server(base, service)
