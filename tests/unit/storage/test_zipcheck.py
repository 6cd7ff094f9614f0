"""Package attacks are refused on upload, and nothing lands outside the store."""

from __future__ import annotations

import io
import os
import stat
import zipfile

import pytest

from qinling import conf as qconf
from qinling import exceptions
from qinling.storage import zipcheck
from qinling.storage.local import LocalStore


def make_zip(members: list[tuple[zipfile.ZipInfo | str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return buffer.getvalue()


def symlink(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target.encode()


@pytest.fixture
def store(tmp_path) -> LocalStore:
    conf = qconf.new_config([])
    conf.set_override("state_dir", str(tmp_path / "state"))
    conf.set_override("max_extracted_size", 1024 * 1024, group="storage")
    conf.set_override("max_package_files", 20, group="storage")
    return LocalStore(conf)


def files_under(path) -> set[str]:
    return {
        os.path.relpath(os.path.join(root, name), path)
        for root, _, names in os.walk(path)
        for name in names
    }


ATTACKS = {
    "zip slip": [("../../evil.py", b"x = 1")],
    "nested zip slip": [("lib/../../evil.py", b"x = 1")],
    "absolute path": [("/tmp/evil.py", b"x = 1")],
    "windows drive": [("C:/evil.py", b"x = 1")],
    "symlink": [symlink("main.py", "/etc/shadow")],
    "zip bomb (size)": [("main.py", b"\0" * (2 * 1024 * 1024))],
    "zip bomb (file count)": [(f"f{i}.py", b"") for i in range(21)],
    "not a zip": None,
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_attacks_are_refused_and_leave_nothing_behind(store, tmp_path, attack):
    members = ATTACKS[attack]
    data = b"just some bytes" if members is None else make_zip(members)
    with pytest.raises(exceptions.InputError) as raised:
        store.store([data], max_size=10 * 1024 * 1024)
    assert raised.value.http_code == 400
    assert files_under(tmp_path) == set(), "the refused upload left files"


def test_a_zip_bomb_is_refused_by_its_headers_without_inflating_it(tmp_path):
    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(make_zip([("a", b"\0" * (8 * 1024 * 1024)), ("b", b"\0" * 1024)]))
    assert bomb.stat().st_size < 64 * 1024
    with pytest.raises(exceptions.InputError, match="more than 4194304 bytes"):
        zipcheck.check_package(str(bomb), zipcheck.Limits(max_extracted=4 * 1024 * 1024))


def test_an_upload_over_the_size_limit_is_refused_while_streaming(store, tmp_path):
    sent = []

    def chunks():
        for _ in range(100):
            sent.append(1)
            yield b"\0" * 1024

    with pytest.raises(exceptions.PayloadTooLarge) as raised:
        store.store(chunks(), max_size=10 * 1024)
    assert raised.value.http_code == 413
    assert len(sent) == 11, "the rest of the upload was not read"
    assert files_under(tmp_path) == set()


def test_a_good_package_within_the_limits_is_kept(store):
    package = make_zip([(f"f{i}.py", b"x = 1\n") for i in range(19)] + [("lib/", b"")])
    stored = store.store([package], max_size=1024 * 1024)
    assert store.exists(stored.digest)


def test_the_limits_come_from_the_storage_options():
    conf = qconf.new_config([])
    assert conf.storage.max_extracted_size == zipcheck.Limits().max_extracted
    assert conf.storage.max_package_files == zipcheck.Limits().max_files
