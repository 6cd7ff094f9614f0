"""Rows with every required column filled in, for tests to adjust."""

from __future__ import annotations

import datetime
from typing import Any

from sqlalchemy.orm import Session

from qinling.db import models

PROJECT = "project-a"
OTHER_PROJECT = "project-b"


def runtime(**values: Any) -> models.Runtime:
    return models.Runtime(
        **{"image": "python3", "status": "available", "project_id": PROJECT} | values
    )


def function(**values: Any) -> models.Function:
    return models.Function(
        **{
            "name": "hello",
            "memory_size": 33554432,
            "cpu": 100,
            "timeout": 5,
            "code": '{"source": "package"}',
            "entry": "main.main",
            "project_id": PROJECT,
        }
        | values
    )


def version(function_id: str, number: int, **values: Any) -> models.FunctionVersion:
    return models.FunctionVersion(
        **{
            "function_id": function_id,
            "version_number": number,
            "memory_size": 33554432,
            "cpu": 100,
            "timeout": 5,
            "code": '{"source": "package"}',
            "project_id": PROJECT,
        }
        | values
    )


def alias(function_id: str, name: str, **values: Any) -> models.FunctionAlias:
    return models.FunctionAlias(
        **{"function_id": function_id, "name": name, "project_id": PROJECT} | values
    )


def execution(function_id: str, **values: Any) -> models.Execution:
    return models.Execution(
        **{"function_id": function_id, "status": "running", "project_id": PROJECT} | values
    )


def job(function_id: str, **values: Any) -> models.Job:
    return models.Job(
        **{
            "function_id": function_id,
            "pattern": "*/5 * * * *",
            "status": "running",
            "project_id": PROJECT,
        }
        | values
    )


def webhook(function_id: str, **values: Any) -> models.Webhook:
    return models.Webhook(**{"function_id": function_id, "project_id": PROJECT} | values)


def add(session: Session, *rows: models.Base) -> None:
    session.add_all(rows)
    session.flush()


def at(minute: int) -> datetime.datetime:
    return datetime.datetime(2024, 5, 1, 12, minute, 0)
