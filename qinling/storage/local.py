"""Packages as files on this host, under ``[storage] file_system_dir``."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from typing import BinaryIO

from qinling import exceptions
from qinling.storage import zipcheck
from qinling.storage.base import PackageStore, StoredPackage

_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class LocalStore(PackageStore):
    def __init__(self, conf) -> None:
        self.root = conf.storage.file_system_dir or os.path.join(conf.state_dir, "packages")
        self._incoming = os.path.join(self.root, "incoming")
        self._limits = zipcheck.Limits(
            max_extracted=conf.storage.max_extracted_size,
            max_files=conf.storage.max_package_files,
        )
        os.makedirs(self._incoming, mode=0o700, exist_ok=True)

    def store(self, chunks: Iterable[bytes], *, max_size: int) -> StoredPackage:
        fd, tmp_path = tempfile.mkstemp(dir=self._incoming, suffix=".zip")
        try:
            package = self._write(fd, chunks, max_size)
            zipcheck.check_package(tmp_path, self._limits)
            final = self._path(package.digest)
            os.makedirs(os.path.dirname(final), mode=0o700, exist_ok=True)
            os.replace(tmp_path, final)
            return package
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_path)

    @staticmethod
    def _write(fd: int, chunks: Iterable[bytes], max_size: int) -> StoredPackage:
        sha, md5, size = hashlib.sha256(), hashlib.md5(usedforsecurity=False), 0
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                size += len(chunk)
                if size > max_size:
                    raise exceptions.PayloadTooLarge(
                        f"The package is larger than the limit of {max_size} bytes."
                    )
                sha.update(chunk)
                md5.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size == 0:
            raise exceptions.InputError("The package is empty.")
        return StoredPackage(digest=sha.hexdigest(), size=size, md5=md5.hexdigest())

    def _path(self, digest: str) -> str:
        if not _DIGEST.match(digest or ""):
            raise exceptions.NotFound.of("Package", digest)
        return os.path.join(self.root, digest[:2], digest + ".zip")

    def open(self, digest: str) -> BinaryIO:
        try:
            return open(self._path(digest), "rb")
        except FileNotFoundError as err:
            raise exceptions.NotFound.of("Package", digest) from err

    def local_path(self, digest: str) -> str | None:
        path = self._path(digest)
        return path if os.path.exists(path) else None

    def delete(self, digest: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._path(digest))

    def exists(self, digest: str) -> bool:
        return os.path.exists(self._path(digest))
