"""What an execution, job or webhook runs: a function version or an alias."""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa

from qinling import exceptions
from qinling.context import RequestContext
from qinling.db import executions as db_executions
from qinling.db import models, queries


@dataclasses.dataclass(frozen=True)
class Target:
    function_id: str
    function_version: int
    function_alias: str | None = None


def resolve(
    session,
    ctx: RequestContext,
    *,
    function_id: str | None,
    function_version: int | None,
    function_alias: str | None,
) -> Target:
    """Check that the function/version/alias exist for ``ctx``."""
    if function_alias:
        alias = get_alias(session, ctx, function_alias)
        return Target(alias.function_id, alias.function_version, alias.name)
    if not function_id:
        raise exceptions.InputError("Either function_id or function_alias is required.")
    function = queries.get(session, models.Function, function_id, ctx, "Function")
    version = function_version or 0
    if version:
        db_executions.check_version(session.connection(), function.id, version)
    return Target(function.id, version)


def get_alias(session, ctx: RequestContext, name: str) -> models.FunctionAlias:
    stmt = sa.select(models.FunctionAlias).where(models.FunctionAlias.name == name)
    stmt = queries.scoped(stmt, models.FunctionAlias, queries.Scope(ctx))
    alias = session.scalars(stmt).first()
    if alias is None:
        raise exceptions.NotFound.of("Alias", name)
    return alias


def owner_trust(session, function_id: str) -> str | None:
    """The trust a job or webhook runs the function with: its owner's."""
    return session.scalar(
        sa.select(models.Function.trust_id).where(models.Function.id == function_id)
    )
