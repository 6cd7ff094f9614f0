"""Checks that a zip is a package we are willing to extract.

Run on upload, before a package is accepted, so that a user learns at once
what is wrong with it; the orchestrator checks again when it extracts.

The sizes come from the zip's headers. That is enough: Python's zipfile
never inflates a member beyond the size its header announces (it fails the
CRC instead), and the orchestrator counts the bytes it actually writes.
"""

from __future__ import annotations

import dataclasses
import stat
import zipfile

from qinling import exceptions


@dataclasses.dataclass(frozen=True)
class Limits:
    """``[storage] max_extracted_size`` and ``max_package_files``."""

    max_extracted: int = 512 * 1024 * 1024
    max_files: int = 10000


def check_package(path: str, limits: Limits | None = None) -> None:
    """Raise ``InputError`` (400) unless ``path`` is a zip safe to extract."""
    limits = limits or Limits()
    if not zipfile.is_zipfile(path):
        raise exceptions.InputError("The package is not a valid zip file.")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise exceptions.InputError(f"The package is not a valid zip file: {err}.") from err
    if len(infos) > limits.max_files:
        raise exceptions.InputError(
            f"The package holds {len(infos)} files; at most {limits.max_files} are allowed."
        )
    total = 0
    for info in infos:
        _check_member(info)
        total += info.file_size
        if total > limits.max_extracted:
            raise exceptions.InputError(
                f"The package extracts to more than {limits.max_extracted} bytes."
            )


def _check_member(info: zipfile.ZipInfo) -> None:
    name = info.filename
    parts = name.replace("\\", "/").split("/")
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        raise exceptions.InputError(f"The package member '{name}' has an absolute path.")
    if ".." in parts:
        raise exceptions.InputError(f"The package member '{name}' points outside the package.")
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        raise exceptions.InputError(f"The package member '{name}' is a symbolic link.")
    # Python's ZipFile.writestr stores permission bits only: no file type
    # means a regular file, as it does for zips made on Windows.
    if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        raise exceptions.InputError(f"The package member '{name}' is not a regular file.")
