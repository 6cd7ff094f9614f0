"""Checks that a zip is a package we are willing to extract.

Run on upload, before a package is accepted, so that a user learns at once
what is wrong with it; the orchestrator checks again when it extracts.
"""

from __future__ import annotations

import stat
import zipfile

from qinling import exceptions

MAX_EXTRACTED_SIZE = 512 * 1024 * 1024
MAX_FILES = 10000


def check_package(
    path: str, *, max_extracted: int = MAX_EXTRACTED_SIZE, max_files: int = MAX_FILES
) -> None:
    if not zipfile.is_zipfile(path):
        raise exceptions.InputError("The package is not a valid zip file.")
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as err:
        raise exceptions.InputError(f"The package is not a valid zip file: {err}.") from err
    if len(infos) > max_files:
        raise exceptions.InputError(
            f"The package holds {len(infos)} files; at most {max_files} are allowed."
        )
    total = 0
    for info in infos:
        _check_member(info)
        total += info.file_size
        if total > max_extracted:
            raise exceptions.InputError(f"The package extracts to more than {max_extracted} bytes.")


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
