"""Typed queries shared by every resource: scoping, lookup and listing.

Scoping is the one rule every read goes through: a project sees its own
rows, runtimes also when public, and an admin sees everything only when it
asks for ``all_projects`` (or names a ``project_id``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from qinling import exceptions
from qinling.context import RequestContext
from qinling.db import filters, models

Row = TypeVar("Row", bound=models.Base)


@dataclasses.dataclass(frozen=True)
class Scope:
    """Which projects a read covers."""

    ctx: RequestContext
    all_projects: bool = False
    project_id: str | None = None

    def clause(self, model: type) -> sa.ColumnElement[bool] | None:
        if self.ctx.is_admin and self.project_id:
            return model.project_id == self.project_id
        if self.ctx.is_admin and self.all_projects:
            return None
        own = model.project_id == self.ctx.project_id
        if model is models.Runtime:
            return sa.or_(own, model.is_public.is_(True))
        return own


def scoped(stmt: sa.Select, model: type, scope: Scope) -> sa.Select:
    condition = scope.clause(model)
    return stmt if condition is None else stmt.where(condition)


def get(
    session: Session,
    model: type[Row],
    ident: str,
    ctx: RequestContext,
    kind: str,
    *,
    for_update: bool = False,
) -> Row:
    """The row with ``ident`` visible to ``ctx``, or NotFound.

    Other projects' rows are reported missing, not forbidden, so that ids
    are never confirmed to outsiders. Admins reach every row by id.
    """
    stmt = sa.select(model).where(model.id == ident)
    if not ctx.is_admin:
        stmt = scoped(stmt, model, Scope(ctx))
    if for_update:
        stmt = stmt.with_for_update()
    row = session.scalars(stmt).first()
    if row is None:
        raise exceptions.NotFound.of(kind, ident)
    return row


def find(session: Session, model: type[Row], ctx: RequestContext, **where) -> Row | None:
    stmt = scoped(sa.select(model).filter_by(**where), model, Scope(ctx))
    return session.scalars(stmt).first()


def list_rows(
    session: Session,
    model: type[Row],
    scope: Scope,
    *,
    where: Sequence[filters.Filter] = (),
    allowed: frozenset[str] = frozenset(),
    page: filters.Page = filters.Page(),
    sortable: frozenset[str] = frozenset({"created_at", "id"}),
) -> list[Row]:
    stmt = scoped(sa.select(model), model, scope)
    for flt in where:
        stmt = stmt.where(filters.clause(model, flt, allowed))
    marker_row = None
    if page.marker:
        marker_row = session.get(model, page.marker)
        if marker_row is None:
            raise exceptions.InputError(f"Marker {page.marker} does not exist.")
    stmt = filters.paginate(stmt, model, page, marker_row, sortable)
    return list(session.scalars(stmt))


def count(session: Session, model: type, *conditions: sa.ColumnElement[bool]) -> int:
    stmt = sa.select(sa.func.count()).select_from(model)
    for cond in conditions:
        stmt = stmt.where(cond)
    return session.scalar(stmt) or 0
