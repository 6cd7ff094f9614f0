"""Malicious function packages sent over HTTP to a real qinling-server."""

from __future__ import annotations

import io
import json
import os
import secrets
import stat
import zipfile

import pytest
import requests

from tests.functional import server

MARK = f"qinling-attack-{secrets.token_hex(4)}"


def _zip(members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def _symlink(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


MAIN = ("main.py", b"def main(**kw):\n    return 1\n")
ATTACKS = {
    "zip slip": (400, [MAIN, (f"../../../../../../tmp/{MARK}.py", b"pwned = 1")]),
    "absolute path": (400, [MAIN, (f"/tmp/{MARK}.py", b"pwned = 1")]),
    "symlink": (400, [MAIN, _symlink(f"{MARK}.py", "/etc/shadow")]),
    "zip bomb": (400, [MAIN, (f"{MARK}.bin", b"\0" * (3 * 1024 * 1024))]),
    "too many files": (400, [MAIN] + [(f"{MARK}/{i}.py", b"") for i in range(60)]),
    "over the size limit": (413, [MAIN, (f"{MARK}.bin", secrets.token_bytes(300 * 1024))]),
}


@pytest.fixture(scope="module")
def qinling(tmp_path_factory):
    running = server.start(
        str(tmp_path_factory.mktemp("attacks")),
        storage__max_package_size=256 * 1024,
        storage__max_extracted_size=2 * 1024 * 1024,
        storage__max_package_files=50,
    )
    try:
        yield running
    finally:
        running.service.stop()


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_a_malicious_package_is_refused_and_writes_nothing(qinling, tmp_path, attack):
    """One attack per package: zip slip, absolute path, symlink, zip bomb
    (extracted size), too many files, and a package over the upload limit.

    Checks: the upload is refused with a 4xx and a message; no function is
    created; no file carrying the attack's marker exists anywhere under the
    server's state directory or in /tmp.
    """
    status, members = ATTACKS[attack]
    runtime_id = qinling.runtime()
    before = requests.get(qinling.url("/v1/functions")).json()["functions"]
    response = requests.post(
        qinling.url("/v1/functions"),
        data={"runtime_id": runtime_id, "code": json.dumps({"source": "package"})},
        files={"package": ("f.zip", _zip(members))},
    )
    assert response.status_code == status, response.text + qinling.details()
    assert response.json()["faultstring"]
    assert requests.get(qinling.url("/v1/functions")).json()["functions"] == before
    state_dir = os.path.dirname(qinling.service.log_path)
    written = [
        os.path.join(root, name)
        for top in (state_dir, "/tmp")
        for root, dirs, names in os.walk(top)
        for name in names + dirs
        if MARK in name
    ]
    assert written == []
