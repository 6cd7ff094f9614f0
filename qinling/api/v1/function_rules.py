"""The rules a function's fields, code and package must follow, and how its
package is downloaded."""

from __future__ import annotations

from typing import Any

import falcon

from qinling import exceptions, states
from qinling.api import body
from qinling.api.deps import Deps
from qinling.api.v1 import uploads
from qinling.context import RequestContext
from qinling.db import models, queries


def check_limits(conf, data: dict[str, Any]) -> None:
    limits = conf.resource_limits
    for field, low, high, unit in (
        ("cpu", limits.min_cpu, limits.max_cpu, "millicpu"),
        ("memory_size", limits.min_memory, limits.max_memory, "bytes"),
        ("timeout", limits.min_timeout, limits.max_timeout, "seconds"),
    ):
        value = data.get(field)
        if value is not None and not low <= value <= high:
            raise exceptions.InputError(f"{field} must be between {low} and {high} {unit}.")
    concurrency = data.get("concurrency")
    if concurrency is not None and concurrency > conf.engine.max_function_concurrency:
        raise exceptions.InputError(
            f"concurrency must be at most {conf.engine.max_function_concurrency}."
        )


def available_runtime(session, ctx: RequestContext, runtime_id: str | None) -> models.Runtime:
    if not runtime_id:
        raise exceptions.InputError("runtime_id is required for package and swift functions.")
    runtime = queries.get(session, models.Runtime, runtime_id, ctx, "Runtime")
    if runtime.status != states.RuntimeStatus.AVAILABLE:
        raise exceptions.Conflict(
            f"Runtime {runtime_id} is {runtime.status}, not available"
            + (f": {runtime.status_reason}" if runtime.status_reason else ".")
        )
    return runtime


def check_code(code: dict[str, Any], upload: uploads.Upload, orchestrator: str) -> None:
    source = code["source"]
    if source == "package" and upload.package is None:
        raise exceptions.InputError("A package function needs the zip file in a 'package' part.")
    if source != "package" and upload.package is not None:
        raise exceptions.InputError(f"A {source} function takes no package upload.")
    if source == "swift" and "swift" not in code:
        raise exceptions.InputError("A swift function needs code.swift.container and .object.")
    if source == "image" and "image" not in code:
        raise exceptions.InputError("An image function needs code.image.")
    if source == "image" and orchestrator != "kubernetes":
        raise exceptions.InputError(
            f"Functions from a container image need the kubernetes orchestrator; this "
            f"deployment runs functions with '{orchestrator}'. Upload a package instead."
        )
    if source == "swift":
        raise exceptions.InputError(
            "Functions from Swift need the swift package store, which this deployment does "
            "not have; upload the package instead."
        )
    md5 = code.get("md5sum")
    if upload.package is not None and md5 and md5.lower() != upload.package.md5:
        raise exceptions.InputError(
            f"The package's md5 is {upload.package.md5}, not {md5} as code.md5sum says; "
            "the upload was damaged or the checksum is wrong."
        )


def stream_package(deps: Deps, resp: falcon.Response, digest: str | None, name: str) -> None:
    if not digest:
        raise exceptions.NotFound("This function has no package to download.")
    resp.content_type = "application/zip"
    resp.downloadable_as = f"{name}.zip"
    resp.stream = deps.storage.open(digest)


def parse_version(raw: str) -> int:
    try:
        number = int(raw)
    except ValueError as err:
        raise exceptions.InputError(f"Version must be a number, not '{raw}'.") from err
    if not 0 <= number <= body.MAX_INTEGER:
        raise exceptions.InputError(f"Version must be between 0 and {body.MAX_INTEGER}.")
    return number
