"""An in-process Qinling (API, engine, fake orchestrator, SQLite) for API tests.

``api`` is a fresh service per test; ``shared_api`` one per test module, for
tests that only read or that cannot change what others see. Both are an
``Api``: a ``falcon.testing.TestClient`` with helpers that create resources
the way python-qinlingclient does.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import time
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import falcon.testing
import pytest
import requests

from qinling import bootstrap
from qinling import conf as qconf

MAX_PACKAGE_SIZE = 16 * 1024
MAX_BODY_SIZE = 16 * 1024
WAIT_SECONDS = 10.0

HELLO = """\
def main(name="world", **kwargs):
    print("saying hello to", name)
    return "hello " + name
"""

# Headers of the identities tests use. No X-Project-Id: admin of "default".
P1 = {"X-Project-Id": "p1"}
P2 = {"X-Project-Id": "p2"}
P1_ADMIN = {"X-Project-Id": "p1", "X-Roles": "admin"}


def make_zip(files: dict[str, str] | None = None) -> bytes:
    """A package as scripts make them: ``writestr`` members carry permission
    bits but no file type."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in (files or {"main.py": HELLO}).items():
            archive.writestr(name, text)
    return buffer.getvalue()


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def encode_form(
    method: str, fields: dict[str, Any], package: bytes | None = None
) -> tuple[bytes, str]:
    """Body and Content-Type as python-qinlingclient's ``requests`` builds them:
    multipart when there is a package, a url-encoded form otherwise."""
    files = {"package": ("package", package)} if package is not None else None
    prepared = requests.Request(method, "http://qinling/", data=fields, files=files).prepare()
    return prepared.body or b"", prepared.headers.get("Content-Type", "")


@dataclasses.dataclass
class Api:
    client: falcon.testing.TestClient
    conf: Any

    def request(
        self, method: str, path: str, *, headers: dict | None = None, **kwargs: Any
    ) -> falcon.testing.Result:
        return self.client.simulate_request(method, path, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> falcon.testing.Result:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> falcon.testing.Result:
        return self.request("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> falcon.testing.Result:
        return self.request("PUT", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> falcon.testing.Result:
        return self.request("DELETE", path, **kwargs)

    def send_form(
        self,
        method: str,
        path: str,
        fields: dict[str, Any],
        package: bytes | None = None,
        headers: dict | None = None,
    ) -> falcon.testing.Result:
        data, content_type = encode_form(method, fields, package)
        return self.request(
            method, path, body=data, headers={"Content-Type": content_type, **(headers or {})}
        )

    # Resources, created as the CLI creates them --------------------------

    def create_runtime(self, image: str = "python3", **fields: Any) -> dict[str, Any]:
        created = self.post("/v1/runtimes", json={"image": image, **fields})
        assert created.status_code == 201, created.text
        return self.wait_for(
            f"/v1/runtimes/{created.json['id']}", lambda r: r["status"] != "creating"
        )

    def create_function(
        self,
        runtime_id: str,
        *,
        package: bytes | None = None,
        headers: dict | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        package = make_zip() if package is None else package
        code = {"source": "package", "md5sum": md5(package)}
        form = {"runtime_id": runtime_id, "code": json.dumps(code), **fields}
        created = self.send_form("POST", "/v1/functions", form, package, headers=headers)
        assert created.status_code == 201, created.text
        return created.json

    def execute(self, function_id: str, headers: dict | None = None, **fields: Any) -> dict:
        done = self.post(
            "/v1/executions", json={"function_id": function_id, **fields}, headers=headers
        )
        assert done.status_code == 201, done.text
        return done.json

    def wait_for(
        self,
        path: str,
        done: Callable[[dict[str, Any]], bool],
        headers: dict | None = None,
    ) -> dict[str, Any]:
        """Poll ``path`` until ``done`` says yes: what a client of an async API does."""
        deadline = time.monotonic() + WAIT_SECONDS
        while True:
            current = self.get(path, headers=headers)
            assert current.status_code == 200, current.text
            if done(current.json):
                return current.json
            assert time.monotonic() < deadline, f"{path} stayed {current.json}"
            time.sleep(0.005)


def _new_stack(state_dir: str) -> tuple[bootstrap.AllInOne, Any]:
    conf = qconf.new_config([])
    conf.set_override("state_dir", state_dir)
    conf.set_override("orchestrator", "fake", group="engine")
    conf.set_override("max_package_size", MAX_PACKAGE_SIZE, group="storage")
    conf.set_override("max_request_body_size", MAX_BODY_SIZE, group="api")
    conf.set_override("max_versions", 3, group="engine")
    return bootstrap.all_in_one(conf), conf


@pytest.fixture
def api(tmp_path) -> Iterator[Api]:
    stack, conf = _new_stack(str(tmp_path))
    yield Api(falcon.testing.TestClient(stack.app), conf)
    stack.close()


@pytest.fixture(scope="module")
def shared_api(tmp_path_factory) -> Iterator[Api]:
    stack, conf = _new_stack(str(tmp_path_factory.mktemp("qinling")))
    yield Api(falcon.testing.TestClient(stack.app), conf)
    stack.close()


@pytest.fixture
def runtime(api: Api) -> dict[str, Any]:
    ready = api.create_runtime(name="python3")
    assert ready["status"] == "available", ready
    return ready


@pytest.fixture
def function(api: Api, runtime: dict[str, Any]) -> dict[str, Any]:
    """A hello-world function of project p1."""
    return api.create_function(runtime["id"], name="hello", headers=P1)
