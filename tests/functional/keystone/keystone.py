"""A real Keystone from PyPI, in a venv of its own, for functional tests.

The venv is built once per Keystone version under
``~/.cache/qinling-tests/keystone-venv-<version>``. ``keystone-manage``
(db_sync, fernet and credential keys, bootstrap) runs once per version too:
its results are kept as a template and copied for each test session. The
bootstrap writes the identity endpoint, with its port, into the database, so
a template is bound to the port it was made for; it is remade when that port
is taken.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator

import requests
from keystoneauth1 import session
from keystoneauth1.identity import v3

from tests import processes

VERSION = os.environ.get("QINLING_TEST_KEYSTONE_VERSION", "30.0.0")
CACHE = os.path.expanduser(os.environ.get("QINLING_TEST_CACHE", "~/.cache/qinling-tests"))
ADMIN_PASSWORD = "admin-secret-Pw1"
DOMAIN = "default"

SERVE = """\
import sys

sys.argv = sys.argv[:1]  # keystone would parse gunicorn's arguments

from keystone.wsgi.api import application  # noqa: E402,F401
"""


def venv() -> str:
    """The Keystone venv, built on first use."""
    path = os.path.join(CACHE, f"keystone-venv-{VERSION}")
    if os.path.exists(os.path.join(path, ".ready")):
        return path
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(CACHE, exist_ok=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", path], check=True)
    subprocess.run(
        [os.path.join(path, "bin", "pip"), "install", "-q", f"keystone=={VERSION}", "gunicorn"],
        check=True,
        timeout=900,
    )
    open(os.path.join(path, ".ready"), "w").close()
    return path


def _write_conf(root: str) -> str:
    text = f"""\
[database]
connection = sqlite:///{root}/keystone.db

[token]
provider = fernet

[fernet_tokens]
key_repository = {root}/fernet-keys

[credential]
key_repository = {root}/credential-keys

[cache]
enabled = true
backend = dogpile.cache.memory

[identity]
password_hash_rounds = 4
"""
    path = os.path.join(root, "keystone.conf")
    with open(path, "w") as out:
        out.write(text)
    return path


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _template(env: str) -> tuple[str, int]:
    """A bootstrapped Keystone (db, keys) and the port its endpoints name."""
    path = os.path.join(CACHE, f"keystone-template-{VERSION}")
    port_file = os.path.join(path, "port")
    if os.path.exists(port_file):
        port = int(open(port_file).read())
        if _port_is_free(port):
            return path, port
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    port = processes.free_port()
    conf = _write_conf(path)
    manage = [os.path.join(env, "bin", "keystone-manage"), "--config-file", conf]
    url = f"http://127.0.0.1:{port}/v3"
    owner = ["--keystone-user", "root", "--keystone-group", "root"]
    for args in (
        ["db_sync"],
        ["fernet_setup", *owner],
        ["credential_setup", *owner],
        [
            "bootstrap",
            "--bootstrap-password",
            ADMIN_PASSWORD,
            "--bootstrap-admin-url",
            url,
            "--bootstrap-public-url",
            url,
            "--bootstrap-internal-url",
            url,
            "--bootstrap-region-id",
            "RegionOne",
        ],
    ):
        subprocess.run([*manage, *args], check=True, capture_output=True, timeout=300)
    with open(port_file, "w") as out:
        out.write(str(port))
    return path, port


class Command(processes.Service):
    """Any command line, stopped and logged like one of our services."""

    def __init__(self, argv: list[str], log_path: str, env: dict[str, str]) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")
        self.process = subprocess.Popen(
            argv, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True, env=env
        )


class Keystone:
    """One running Keystone; ``admin`` is a session of the bootstrap admin."""

    def __init__(self, root: str, port: int, service: processes.Service) -> None:
        self.root = root
        self.url = f"http://127.0.0.1:{port}"
        self.auth_url = self.url + "/v3"
        self.service = service
        self.admin = self.session("admin", ADMIN_PASSWORD, "admin")

    def session(self, user: str, password: str, project: str) -> session.Session:
        auth = v3.Password(
            auth_url=self.auth_url,
            username=user,
            password=password,
            project_name=project,
            user_domain_id=DOMAIN,
            project_domain_id=DOMAIN,
        )
        return session.Session(auth=auth)

    def token(self, user: str, password: str, project: str) -> str:
        return self.session(user, password, project).get_token()

    def api(self, method: str, path: str, **kwargs):
        return self.admin.request(self.auth_url + path, method, **kwargs)

    def project(self, name: str) -> str:
        body = {"project": {"name": name, "domain_id": DOMAIN}}
        return self.api("POST", "/projects", json=body).json()["project"]["id"]

    def role(self, name: str) -> str:
        found = self.api("GET", f"/roles?name={name}").json()["roles"]
        if found:
            return found[0]["id"]
        return self.api("POST", "/roles", json={"role": {"name": name}}).json()["role"]["id"]

    def user(self, name: str, password: str, project_id: str, *roles: str) -> str:
        body = {
            "user": {
                "name": name,
                "password": password,
                "domain_id": DOMAIN,
                "default_project_id": project_id,
            }
        }
        user_id = self.api("POST", "/users", json=body).json()["user"]["id"]
        for role in roles:
            self.api("PUT", f"/projects/{project_id}/users/{user_id}/roles/{self.role(role)}")
        return user_id

    def register(self, service_type: str, name: str, url: str) -> None:
        body = {"service": {"type": service_type, "name": name}}
        service_id = self.api("POST", "/services", json=body).json()["service"]["id"]
        for interface in ("public", "internal", "admin"):
            endpoint = {
                "service_id": service_id,
                "interface": interface,
                "url": url,
                "region_id": "RegionOne",
            }
            self.api("POST", "/endpoints", json={"endpoint": endpoint})

    def revoke(self, token: str) -> None:
        self.api("DELETE", "/auth/tokens", headers={"X-Subject-Token": token})

    def log(self) -> str:
        return self.service.log()


def _wait_ready(service: Command, url: str, deadline: float = 120) -> None:
    """Gunicorn listens before Keystone has loaded: a first request may wait."""

    def answers() -> bool:
        if service.process.poll() is not None:
            raise AssertionError(f"Keystone exited:\n{service.log()}")
        with contextlib.suppress(requests.RequestException):
            return requests.get(url, timeout=10).status_code == 200
        return False

    processes.wait_for(answers, deadline=deadline, what=f"Keystone at {url}", details=service.log)


@contextlib.contextmanager
def running() -> Iterator[Keystone]:
    """Keystone on 127.0.0.1 with a copy of the template; always stopped and removed."""
    env = venv()
    template, port = _template(env)
    root = tempfile.mkdtemp(prefix="qinling-keystone-")
    service = None
    try:
        shutil.copy(os.path.join(template, "keystone.db"), root)
        for keys in ("fernet-keys", "credential-keys"):
            shutil.copytree(os.path.join(template, keys), os.path.join(root, keys))
        _write_conf(root)
        with open(os.path.join(root, "serve_keystone.py"), "w") as out:
            out.write(SERVE)
        service = Command(
            [
                os.path.join(env, "bin", "gunicorn"),
                "--chdir",
                root,
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "1",
                "--threads",
                "8",
                "serve_keystone:application",
            ],
            os.path.join(root, "keystone.log"),
            env=os.environ | {"OS_KEYSTONE_CONFIG_DIR": root},
        )
        _wait_ready(service, f"http://127.0.0.1:{port}/v3")
        yield Keystone(root, port, service)
    finally:
        if service is not None:
            service.stop()
        shutil.rmtree(root, ignore_errors=True)
