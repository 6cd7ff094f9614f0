"""Where function packages live.

Packages are content addressed: the key is the SHA-256 of the bytes, so two
functions with the same code share one copy and a stored package never
changes. Callers decide when a digest is no longer referenced and only then
call ``delete``.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Iterable
from typing import BinaryIO

CHUNK_SIZE = 64 * 1024


@dataclasses.dataclass(frozen=True)
class StoredPackage:
    digest: str  # sha256, hex
    size: int
    md5: str  # hex; what python-qinlingclient sends as code.md5sum


class PackageStore(abc.ABC):
    @abc.abstractmethod
    def store(self, chunks: Iterable[bytes], *, max_size: int) -> StoredPackage:
        """Consume ``chunks`` and keep them; atomic: all or nothing.

        Raises ``PayloadTooLarge`` as soon as more than ``max_size`` bytes
        arrived, without reading the rest, and ``InputError`` when the
        bytes are not a valid function package.
        """

    @abc.abstractmethod
    def open(self, digest: str) -> BinaryIO:
        """A readable binary stream of the package; NotFound if missing."""

    @abc.abstractmethod
    def local_path(self, digest: str) -> str | None:
        """A path on this host the orchestrator may read, if the store has one."""

    @abc.abstractmethod
    def delete(self, digest: str) -> None:
        """Forget a package. Idempotent."""

    @abc.abstractmethod
    def exists(self, digest: str) -> bool:
        """Whether the package is stored."""


def read_chunks(stream: BinaryIO, size: int = CHUNK_SIZE) -> Iterable[bytes]:
    while chunk := stream.read(size):
        yield chunk
