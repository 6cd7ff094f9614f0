"""Rows as the API returns them, field for field as OpenStack Qinling did.

Qinling returned ``code`` and execution ``result`` as JSON strings, and
timestamps as ``YYYY-MM-DD HH:MM:SS`` in UTC; python-qinlingclient prints
them as they come, so we keep both.
"""

from __future__ import annotations

import datetime
from typing import Any

from qinling.db import models


def timestamp(value: datetime.datetime | None) -> str | None:
    """``YYYY-MM-DD HH:MM:SS``, the wall time as stored (Qinling's format)."""
    if not value:
        return None
    # isoformat: a third of strftime's cost, on every row of every response.
    return value.replace(tzinfo=None, microsecond=0).isoformat(" ")


def _stamps(row: Any) -> dict[str, Any]:
    return {"created_at": timestamp(row.created_at), "updated_at": timestamp(row.updated_at)}


def runtime(row: models.Runtime) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "image": row.image,
        "status": row.status,
        "status_reason": row.status_reason,
        "description": row.description,
        "is_public": row.is_public,
        "trusted": row.trusted,
        "project_id": row.project_id,
    } | _stamps(row)


def function(row: models.Function) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "count": row.count,
        "code": row.code,
        "runtime_id": row.runtime_id,
        "entry": row.entry,
        "project_id": row.project_id,
        "cpu": row.cpu,
        "memory_size": row.memory_size,
        "timeout": row.timeout,
        "latest_version": row.latest_version,
        "environment": row.environment or {},
        "concurrency": row.concurrency,
        "package_size": row.package_size,
    } | _stamps(row)


def version(row: models.FunctionVersion) -> dict[str, Any]:
    return {
        "id": row.id,
        "function_id": row.function_id,
        "description": row.description,
        "version_number": row.version_number,
        "count": row.count,
        "project_id": row.project_id,
        "entry": row.entry,
        "cpu": row.cpu,
        "memory_size": row.memory_size,
        "timeout": row.timeout,
    } | _stamps(row)


def alias(row: models.FunctionAlias) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "function_id": row.function_id,
        "function_version": row.function_version,
        "description": row.description,
        "additional_version": row.additional_version,
        "additional_weight": row.additional_weight,
        "project_id": row.project_id,
    } | _stamps(row)


def execution(row: models.Execution) -> dict[str, Any]:
    return {
        "id": row.id,
        "function_id": row.function_id,
        "function_version": row.function_version,
        "function_alias": row.function_alias,
        "description": row.description,
        "input": row.input,
        "result": row.result,
        "status": row.status,
        "sync": row.sync,
        "project_id": row.project_id,
        "cold_start": row.cold_start,
        "init_duration": row.init_duration,
        "duration": row.duration,
        "memory_peak": row.memory_peak,
    } | _stamps(row)


def job(row: models.Job) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "count": row.count,
        "status": row.status,
        "status_reason": row.status_reason,
        "function_alias": row.function_alias,
        "function_id": row.function_id,
        "function_version": row.function_version,
        "function_input": row.function_input,
        "pattern": row.pattern,
        "first_execution_time": timestamp(row.first_execution_time),
        "next_execution_time": timestamp(row.next_execution_time),
        "project_id": row.project_id,
    } | _stamps(row)


def webhook(row: models.Webhook, base_url: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "function_alias": row.function_alias,
        "function_id": row.function_id,
        "function_version": row.function_version,
        "description": row.description,
        "project_id": row.project_id,
        "signed": bool(row.secret),
        "webhook_url": f"{base_url}/v1/webhooks/{row.id}/invoke",
    } | _stamps(row)
