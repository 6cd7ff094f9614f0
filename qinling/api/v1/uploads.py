"""Function create/update bodies: multipart with a streamed package, or fields.

The package part is streamed into the package store as it arrives and
refused with 413 as soon as it passes ``[storage] max_package_size``; the
other parts are small form fields.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import falcon

from qinling import exceptions
from qinling.api import body
from qinling.api.deps import Deps
from qinling.db import models, queries
from qinling.storage import StoredPackage
from qinling.storage.base import CHUNK_SIZE

MAX_FIELD_SIZE = 64 * 1024


@dataclasses.dataclass
class Upload:
    fields: dict[str, Any]
    package: StoredPackage | None = None


def receive(req: falcon.Request, deps: Deps, schema: dict[str, Any]) -> Upload:
    content_type = (req.content_type or "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        return _multipart(req, deps, schema)
    return Upload(body.read_form(req, schema, max_size=deps.max_body))


def _multipart(req: falcon.Request, deps: Deps, schema: dict[str, Any]) -> Upload:
    """The form's fields, and its package stored; a bad form stores nothing."""
    upload = Upload({})
    try:
        for part in req.get_media():
            if part.name == "package":
                if upload.package is not None:
                    raise exceptions.InputError("Only one package may be uploaded.")
                upload.package = _store(part.stream, deps)
            elif part.name in upload.fields:
                raise exceptions.InputError(f"Field '{part.name}' is given more than once.")
            else:
                upload.fields[part.name] = _field_text(part)
        upload.fields = body.validate(body.coerce(upload.fields, schema), schema)
    except (exceptions.QinlingError, falcon.HTTPError):
        release_package(deps, upload.package and upload.package.digest)
        raise
    return upload


def _field_text(part) -> str:
    data = part.stream.read(MAX_FIELD_SIZE + 1)
    if len(data) > MAX_FIELD_SIZE:
        raise exceptions.InputError(
            f"Form field '{part.name}' is larger than {MAX_FIELD_SIZE} bytes."
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise exceptions.InputError(f"Form field '{part.name}' is not UTF-8 text.") from err


def _store(stream, deps: Deps) -> StoredPackage:
    def chunks():
        while chunk := stream.read(CHUNK_SIZE):
            yield chunk

    return deps.storage.store(chunks(), max_size=deps.conf.storage.max_package_size)


def release_package(deps: Deps, digest: str | None) -> None:
    """Delete a stored package once no function or version refers to it
    (packages are content addressed: others may share it)."""
    if not digest:
        return
    with deps.db.transaction() as session:
        users = queries.count(session, models.Function, models.Function.package_digest == digest)
        users += queries.count(
            session, models.FunctionVersion, models.FunctionVersion.package_digest == digest
        )
    if not users:
        deps.storage.delete(digest)
