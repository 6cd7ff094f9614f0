"""Safe extraction of function packages."""

from __future__ import annotations

import os
import stat
import zipfile

import pytest

from qinling.orchestrator.local import packages


def _zip(path, entries):
    with zipfile.ZipFile(path, "w") as archive:
        for info, data in entries:
            archive.writestr(info, data)
    return str(path)


def _symlink_entry(name, target):
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target


def _extract(tmp_path, entries, **limits):
    target = tmp_path / "out"
    target.mkdir()
    limits.setdefault("max_bytes", 1 << 20)
    limits.setdefault("max_files", 100)
    packages.extract_zip(_zip(tmp_path / "p.zip", entries), str(target), **limits)
    return target


def test_extracts_files_and_keeps_the_executable_bit(tmp_path):
    script = zipfile.ZipInfo("bin/run.sh")
    script.external_attr = (stat.S_IFREG | 0o755) << 16
    target = _extract(tmp_path, [("main.py", "x = 1"), (script, "#!/bin/sh"), ("d/", "")])
    assert (target / "main.py").read_text() == "x = 1"
    assert os.stat(target / "bin/run.sh").st_mode & 0o777 == 0o755
    assert os.stat(target / "main.py").st_mode & 0o777 == 0o644
    assert (target / "d").is_dir()


@pytest.mark.parametrize("name", ["../evil.py", "a/../../evil.py", "/etc/evil", "C:/evil"])
def test_rejects_paths_leaving_the_package(tmp_path, name):
    with pytest.raises(packages.PackageError, match="unsafe path"):
        _extract(tmp_path, [(name, "x")])
    assert not (tmp_path / "evil.py").exists()


def test_rejects_symlinks(tmp_path):
    with pytest.raises(packages.PackageError, match="only files and directories"):
        _extract(tmp_path, [_symlink_entry("link", "/etc/shadow")])


def test_bounds_the_extracted_size_whatever_the_header_says(tmp_path):
    with pytest.raises(packages.PackageError, match="too large"):
        _extract(tmp_path, [("big.bin", "x" * 5000)], max_bytes=4096)


def test_bounds_the_number_of_files(tmp_path):
    entries = [(f"f{i}.py", "") for i in range(11)]
    with pytest.raises(packages.PackageError, match="11 entries; the limit is 10"):
        _extract(tmp_path, entries, max_files=10)


def test_rejects_what_is_not_a_zip(tmp_path):
    path = tmp_path / "p.zip"
    path.write_text("not a zip")
    with pytest.raises(packages.PackageError, match="not a valid zip"):
        packages.extract_zip(str(path), str(tmp_path), max_bytes=100, max_files=10)


def test_cache_extracts_once_per_digest_and_discards(tmp_path):
    cache = packages.PackageCache(str(tmp_path / "cache"), max_bytes=1 << 20, max_files=10)
    os.makedirs(cache.root)
    path = _zip(tmp_path / "p.zip", [("main.py", "x = 1")])
    directory = cache.prepare(path, "sha256:abc")
    assert cache.prepare(path, "sha256:abc") == directory
    assert os.listdir(directory) == ["main.py"]
    cache.discard("sha256:abc")
    assert not os.path.exists(directory)


def test_a_failed_extraction_leaves_nothing(tmp_path):
    cache = packages.PackageCache(str(tmp_path / "cache"), max_bytes=1 << 20, max_files=10)
    os.makedirs(cache.root)
    path = _zip(tmp_path / "p.zip", [("ok.py", ""), ("../bad.py", "")])
    with pytest.raises(packages.PackageError):
        cache.prepare(path, "d1")
    assert os.listdir(cache.root) == []


def test_a_package_set_aside_is_extracted_anew_by_its_next_user(tmp_path):
    """The driver sets an unused package aside where it finds it unused; a
    start that needs it afterwards gets it back, while the old copy is
    deleted apart (deleting it in place raced with such a start)."""
    cache = packages.PackageCache(str(tmp_path / "cache"), max_bytes=1 << 20, max_files=10)
    os.makedirs(cache.root)
    path = _zip(tmp_path / "p.zip", [("main.py", "x = 1")])
    directory = cache.prepare(path, "sha256:abc")

    aside = cache.set_aside("sha256:abc")
    assert not os.path.exists(directory)
    assert cache.prepare(path, "sha256:abc") == directory  # the next start's
    assert os.listdir(directory) == ["main.py"]
    cache.remove(aside)
    assert os.listdir(directory) == ["main.py"]
    assert sorted(os.listdir(cache.root)) == [os.path.basename(directory)]


def test_setting_aside_a_package_never_extracted_does_nothing(tmp_path):
    cache = packages.PackageCache(str(tmp_path / "cache"), max_bytes=1 << 20, max_files=10)
    os.makedirs(cache.root)
    assert cache.set_aside("sha256:none") is None
    cache.remove(None)
    assert os.listdir(cache.root) == []
