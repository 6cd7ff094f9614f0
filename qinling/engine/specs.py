"""Turning database rows into what the orchestrator needs."""

from __future__ import annotations

import dataclasses
from typing import Any

from qinling.orchestrator import base


def runtime_spec(runtime: Any) -> base.RuntimeSpec:
    return base.RuntimeSpec(id=runtime.id, image=runtime.image, trusted=runtime.trusted)


def function_spec(
    function: Any,
    source: Any,
    runtime: Any,
    *,
    package_path: str | None,
    default_concurrency: int,
) -> base.FunctionSpec:
    """``function``: a row with the function's columns; ``source``: the one with
    its code and limits (the function's or a version's); ``runtime``: its
    runtime's. One row of ``records.RUN_QUERY`` serves as all three."""
    return base.FunctionSpec(
        function_id=function.function_id,
        version=function.function_version or 0,
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


def spec_to_wire(spec: base.FunctionSpec) -> dict[str, Any]:
    """A FunctionSpec as JSON-safe fields, for the engine's data socket."""
    return dataclasses.asdict(spec)


def spec_from_wire(fields: dict[str, Any]) -> base.FunctionSpec:
    runtime = base.RuntimeSpec(**fields["runtime"])
    return base.FunctionSpec(**(fields | {"runtime": runtime}))
