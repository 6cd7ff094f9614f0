"""Turning database rows into what the orchestrator needs."""

from __future__ import annotations

from qinling import exceptions
from qinling.db import models
from qinling.orchestrator import base


def runtime_spec(runtime: models.Runtime) -> base.RuntimeSpec:
    return base.RuntimeSpec(id=runtime.id, image=runtime.image, trusted=runtime.trusted)


def function_spec(
    function: models.Function,
    version: models.FunctionVersion | None,
    runtime: models.Runtime,
    *,
    package_path: str | None,
    default_concurrency: int,
) -> base.FunctionSpec:
    source = version if version is not None else function
    if source.package_digest and package_path is None:
        raise exceptions.NotFound(f"The package of function {function.id} is missing.")
    return base.FunctionSpec(
        function_id=function.id,
        version=version.version_number if version is not None else 0,
        runtime=runtime_spec(runtime),
        package_path=package_path,
        package_digest=source.package_digest,
        entry=source.entry or "main.main",
        memory_size=source.memory_size,
        cpu=source.cpu,
        timeout=source.timeout,
        environment=dict(source.environment or {}),
        concurrency=function.concurrency or default_concurrency,
        project_id=function.project_id,
    )
