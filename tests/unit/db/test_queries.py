"""Project scoping: a project sees its own rows, and public runtimes."""

from __future__ import annotations

import pytest

from qinling import exceptions
from qinling.context import RequestContext, admin_context
from qinling.db import models, queries
from qinling.db.session import Database
from tests.unit.db import rows

OWNER = RequestContext(project_id=rows.PROJECT)
OUTSIDER = RequestContext(project_id=rows.OTHER_PROJECT)
ADMIN = admin_context()


@pytest.fixture
def functions(database: Database) -> dict[str, str]:
    """Function ids by project: two in PROJECT, one in OTHER_PROJECT."""
    with database.transaction() as session:
        mine = [rows.function(name="a"), rows.function(name="b")]
        theirs = rows.function(name="c", project_id=rows.OTHER_PROJECT)
        rows.add(session, *mine, theirs)
        return {"mine-a": mine[0].id, "mine-b": mine[1].id, "theirs": theirs.id}


@pytest.fixture
def runtimes(database: Database) -> dict[str, str]:
    with database.transaction() as session:
        found = {
            "public": rows.runtime(project_id=ADMIN.project_id),
            "private-mine": rows.runtime(is_public=False),
            "private-theirs": rows.runtime(is_public=False, project_id=rows.OTHER_PROJECT),
        }
        rows.add(session, *found.values())
        return {name: row.id for name, row in found.items()}


def _names(database: Database, scope: queries.Scope) -> list[str]:
    with database.transaction() as session:
        return sorted(row.name for row in queries.list_rows(session, models.Function, scope))


def test_a_project_lists_its_own_rows(database: Database, functions: dict[str, str]) -> None:
    assert _names(database, queries.Scope(OWNER)) == ["a", "b"]
    assert _names(database, queries.Scope(OUTSIDER)) == ["c"]


def test_only_admins_list_all_projects(database: Database, functions: dict[str, str]) -> None:
    assert _names(database, queries.Scope(OWNER, all_projects=True)) == ["a", "b"]
    assert _names(database, queries.Scope(ADMIN)) == []
    assert _names(database, queries.Scope(ADMIN, all_projects=True)) == ["a", "b", "c"]


def test_an_admin_may_name_a_project(database: Database, functions: dict[str, str]) -> None:
    scope = queries.Scope(ADMIN, project_id=rows.OTHER_PROJECT)
    assert _names(database, scope) == ["c"]
    # project_id is an admin's privilege: others still see only their own.
    assert _names(database, queries.Scope(OWNER, project_id=rows.OTHER_PROJECT)) == ["a", "b"]


def test_get_reports_other_projects_rows_missing(
    database: Database, functions: dict[str, str]
) -> None:
    with database.transaction() as session:
        assert queries.get(session, models.Function, functions["mine-a"], OWNER, "Function")
        with pytest.raises(exceptions.NotFound, match=r"Function .* not found"):
            queries.get(session, models.Function, functions["theirs"], OWNER, "Function")
        with pytest.raises(exceptions.NotFound):
            queries.get(session, models.Function, "no-such-id", OWNER, "Function")


def test_an_admin_gets_any_row_by_id(database: Database, functions: dict[str, str]) -> None:
    with database.transaction() as session:
        row = queries.get(session, models.Function, functions["theirs"], ADMIN, "Function")
        assert row.name == "c"


def test_get_for_update_returns_the_row(database: Database, functions: dict[str, str]) -> None:
    with database.transaction() as session:
        row = queries.get(
            session, models.Function, functions["mine-b"], OWNER, "Function", for_update=True
        )
        assert row.name == "b"


def test_public_runtimes_are_visible_to_everyone(
    database: Database, runtimes: dict[str, str]
) -> None:
    with database.transaction() as session:
        visible = queries.list_rows(session, models.Runtime, queries.Scope(OWNER))
        assert {row.id for row in visible} == {runtimes["public"], runtimes["private-mine"]}
        assert queries.get(session, models.Runtime, runtimes["public"], OWNER, "Runtime")
        with pytest.raises(exceptions.NotFound):
            queries.get(session, models.Runtime, runtimes["private-theirs"], OWNER, "Runtime")


def test_find_is_scoped(database: Database, functions: dict[str, str]) -> None:
    with database.transaction() as session:
        assert queries.find(session, models.Function, OWNER, name="a").id == functions["mine-a"]
        assert queries.find(session, models.Function, OWNER, name="c") is None


def test_count(database: Database, functions: dict[str, str]) -> None:
    with database.transaction() as session:
        assert queries.count(session, models.Function) == 3
        mine = models.Function.project_id == rows.PROJECT
        assert queries.count(session, models.Function, mine) == 2
        assert queries.count(session, models.Function, mine, models.Function.name == "b") == 1
        assert queries.count(session, models.Job) == 0
