"""Query parameters of list requests: scope, filters and pagination."""

from __future__ import annotations

import dataclasses

import falcon

from qinling import exceptions
from qinling.api.body import parse_bool
from qinling.db import filters, queries

RESERVED = frozenset(
    {"all_projects", "project_id", "limit", "marker", "sort_key", "sort_dir", "download"}
)


@dataclasses.dataclass(frozen=True)
class ListParams:
    scope: queries.Scope
    filters: tuple[filters.Filter, ...]
    page: filters.Page


def list_params(
    req: falcon.Request, *, max_limit: int, all_projects_allowed: bool | None = None
) -> ListParams:
    """``all_projects_allowed``: the policy's answer for this collection's
    ``get_all:all_projects`` rule; unset, only admins may."""
    ctx = req.context.ctx
    params = req.params
    for name, value in params.items():
        if isinstance(value, list):
            raise exceptions.InputError(f"Query parameter '{name}' is given more than once.")
    all_projects = parse_bool(params.get("all_projects", "false"), "all_projects")
    project_id = params.get("project_id")
    allowed = ctx.is_admin if all_projects_allowed is None else all_projects_allowed
    if (all_projects or project_id) and not allowed:
        if project_id and project_id == ctx.project_id:
            project_id = None
        else:
            raise exceptions.Forbidden("Only admins may list other projects' resources.")
    scope = queries.Scope(ctx, all_projects=all_projects, project_id=project_id)
    found = tuple(filters.Filter.parse(k, v) for k, v in params.items() if k not in RESERVED)
    return ListParams(scope, found, _page(params, max_limit))


def _page(params: dict, max_limit: int) -> filters.Page:
    limit = None
    if "limit" in params:
        try:
            limit = int(params["limit"])
        except ValueError as err:
            raise exceptions.InputError("limit must be a positive integer.") from err
        if not 1 <= limit <= max_limit:
            raise exceptions.InputError(f"limit must be between 1 and {max_limit}.")
    return filters.Page(
        limit=limit,
        marker=params.get("marker"),
        sort_key=params.get("sort_key", "created_at"),
        sort_dir=params.get("sort_dir", "asc").lower(),
    )


def next_link(req: falcon.Request, page: filters.Page, rows: list, base_url: str) -> str | None:
    """A link to the next page when this one is full."""
    if page.limit is None or len(rows) < page.limit:
        return None
    query = {k: v for k, v in req.params.items() if k != "marker"}
    query["marker"] = rows[-1].id
    encoded = "&".join(
        f"{falcon.uri.encode_value(k)}={falcon.uri.encode_value(str(v))}" for k, v in query.items()
    )
    return f"{base_url}{req.path}?{encoded}"


def checked_list_params(req: falcon.Request, deps, resource: str) -> ListParams:
    """``list_params`` after the policy checks of listing ``resource``."""
    ctx = req.context.ctx
    deps.policy.enforce(ctx, f"{resource}:get_all")
    return list_params(
        req,
        max_limit=deps.max_limit,
        all_projects_allowed=deps.policy.allows(ctx, f"{resource}:get_all:all_projects"),
    )


def respond_with_list(
    req: falcon.Request,
    resp: falcon.Response,
    deps,
    *,
    resource: str,
    model: type,
    key: str,
    allowed: frozenset[str],
    view,
) -> None:
    """The one way every collection is listed: policy, scope, filters, pages."""
    lp = checked_list_params(req, deps, resource)
    with deps.db.transaction() as session:
        rows = queries.list_rows(
            session, model, lp.scope, where=lp.filters, allowed=allowed, page=lp.page
        )
        resp.media = {key: [view(row) for row in rows]}
    if link := next_link(req, lp.page, rows, deps.base_url(req)):
        resp.media["next"] = link
