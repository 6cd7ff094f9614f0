"""Accepting an execution: the one way a ``running`` row comes to exist.

Used by the API (executions, webhooks) and by the engine's job scheduler.
"""

from __future__ import annotations

import json
import random
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from qinling import exceptions, states
from qinling.db import models

MAX_INPUT_CHARS = 1024 * 1024


def encode_input(value: Any) -> str | None:
    """Inputs are kept as the text the caller sent; objects as JSON."""
    if value is None:
        return None
    text = value if isinstance(value, str) else json.dumps(value)
    if len(text) > MAX_INPUT_CHARS:
        raise exceptions.PayloadTooLarge(f"The input is larger than {MAX_INPUT_CHARS} characters.")
    return text


def alias_version(session: Session, project_id: str, name: str) -> int:
    """The version an alias sends this execution to (weights honoured)."""
    alias = session.scalars(
        sa.select(models.FunctionAlias).where(
            models.FunctionAlias.name == name, models.FunctionAlias.project_id == project_id
        )
    ).first()
    if alias is None:
        raise exceptions.NotFound.of("Alias", name)
    if alias.additional_version is not None and alias.additional_weight:
        if random.uniform(0, 100) < alias.additional_weight:
            return alias.additional_version
    return alias.function_version


def accept(
    session: Session,
    *,
    function_id: str,
    version: int,
    alias: str | None,
    input: Any,
    sync: bool,
    description: str | None,
) -> models.Execution:
    """Insert a ``running`` execution of the function; NotFound if it is gone."""
    function = session.get(models.Function, function_id)
    if function is None:
        raise exceptions.NotFound.of("Function", function_id)
    if alias:
        version = alias_version(session, function.project_id, alias)
    row = models.Execution(
        function_id=function_id,
        function_version=version,
        function_alias=alias,
        description=description,
        input=encode_input(input),
        status=states.ExecutionStatus.RUNNING,
        sync=sync,
        project_id=function.project_id,
    )
    session.add(row)
    session.flush()
    return row
