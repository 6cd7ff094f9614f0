"""Function packages extracted once per digest, safely, for read-only mounting.

A package is a zip file. Extraction refuses absolute paths, ``..``
components, symlinks and other special files, and bounds the number of
entries and the bytes actually written (the sizes a zip header announces are
not trusted). Each digest is extracted into a temporary directory renamed
into place, so a half-extracted package is never used.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import threading
import uuid
import zipfile

from qinling import exceptions

_CHUNK = 1 << 16


class PackageError(exceptions.QinlingError):
    """The package cannot be used as it is (the function author's fault)."""

    http_code = 400
    title = "Bad Package"


def extract_zip(zip_path: str, target: str, *, max_bytes: int, max_files: int) -> None:
    """Extract ``zip_path`` into the existing empty directory ``target``."""
    try:
        archive = zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise PackageError(f"The function package is not a valid zip file: {exc}") from exc
    with archive:
        entries = archive.infolist()
        if len(entries) > max_files:
            raise PackageError(
                f"The function package has {len(entries)} entries; the limit is {max_files}."
            )
        budget = [max_bytes]
        try:
            for entry in entries:
                _extract_entry(archive, entry, target, budget)
        except (OSError, zipfile.BadZipFile, NotImplementedError) as exc:
            raise PackageError(f"The function package cannot be extracted: {exc}") from exc


def _safe_relative(name: str) -> str:
    normalized = name.replace("\\", "/")
    parts = [p for p in normalized.split("/") if p not in ("", ".")]
    if normalized.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
        raise PackageError(f"The function package has an unsafe path: {name!r}.")
    return "/".join(parts)


def _extract_entry(
    archive: zipfile.ZipFile, entry: zipfile.ZipInfo, target: str, budget: list[int]
) -> None:
    relative = _safe_relative(entry.filename)
    mode = entry.external_attr >> 16
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise PackageError(
            f"The function package may hold only files and directories: {entry.filename!r}."
        )
    if not relative:
        return
    destination = os.path.join(target, relative)
    if entry.is_dir():
        os.makedirs(destination, mode=0o755, exist_ok=True)
        return
    os.makedirs(os.path.dirname(destination), mode=0o755, exist_ok=True)
    executable = bool(mode & 0o111)
    with archive.open(entry) as source, open(destination, "xb") as sink:
        while chunk := source.read(_CHUNK):
            budget[0] -= len(chunk)
            if budget[0] < 0:
                raise PackageError("The function package is too large once extracted.")
            sink.write(chunk)
    os.chmod(destination, 0o755 if executable else 0o644)


def file_digest(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class PackageCache:
    """Extracted packages under ``root``, one directory per digest."""

    def __init__(self, root: str, *, max_bytes: int, max_files: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.max_files = max_files
        self._lock = threading.Lock()
        self._digest_locks: dict[str, threading.Lock] = {}

    def path(self, digest: str) -> str:
        return os.path.join(self.root, _safe_name(digest))

    def prepare(self, zip_path: str, digest: str) -> str:
        """The directory holding the package, extracting it on first use."""
        directory = self.path(digest)
        if os.path.isdir(directory):
            return directory
        with self._lock:
            lock = self._digest_locks.setdefault(digest, threading.Lock())
        with lock:
            if os.path.isdir(directory):
                return directory
            staging = tempfile.mkdtemp(prefix=".extract-", dir=self.root)
            os.chmod(staging, 0o755)
            try:
                extract_zip(zip_path, staging, max_bytes=self.max_bytes, max_files=self.max_files)
                os.rename(staging, directory)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        return directory

    def discard(self, digest: str) -> None:
        self.remove(self.set_aside(digest))

    def set_aside(self, digest: str) -> str | None:
        """Take the package out of use at once (a rename); the path to
        ``remove`` then, or None when it was not extracted.

        The driver sets a package aside in the same critical section that
        found it unused: a start that comes to need it afterwards extracts it
        anew. Deleting it there instead, or deleting it later in place, raced
        with such a start (its worker's mount of it failed: "sandbox setup
        failed: FileNotFoundError", seen under detach and scale churn).
        """
        aside = os.path.join(self.root, f".discarded-{uuid.uuid4().hex}")
        try:
            os.rename(self.path(digest), aside)
        except FileNotFoundError:
            return None
        return aside

    @staticmethod
    def remove(aside: str | None) -> None:
        """Delete what ``set_aside`` set aside (outside any lock: it may be large)."""
        if aside is not None:
            shutil.rmtree(aside, ignore_errors=True)


def _safe_name(digest: str) -> str:
    if digest and all(c.isalnum() or c in "-_:" for c in digest) and len(digest) <= 200:
        return digest.replace(":", "_")
    return hashlib.sha256(digest.encode()).hexdigest()
