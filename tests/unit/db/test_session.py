"""Transactions commit or roll back whole, and errors come out as domain exceptions."""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa

from qinling import conf as qinling_conf
from qinling import exceptions
from qinling.db import models, session
from qinling.db.session import Database
from tests.unit.db import rows


def _count(database: Database, model: type) -> int:
    with database.transaction() as session_:
        return session_.scalar(sa.select(sa.func.count()).select_from(model))


def test_two_versions_with_one_number_conflict(database: Database) -> None:
    with database.transaction() as session_:
        function = rows.function()
        rows.add(session_, function)
        rows.add(session_, rows.version(function.id, 1))

    with pytest.raises(exceptions.Conflict), database.transaction() as session_:
        rows.add(session_, rows.version(function.id, 1))
    assert _count(database, models.FunctionVersion) == 1


def test_alias_names_are_unique_per_project(database: Database) -> None:
    with database.transaction() as session_:
        function = rows.function()
        rows.add(session_, function)
        rows.add(session_, rows.alias(function.id, "prod"))
        # The same name in another project is fine.
        rows.add(session_, rows.alias(function.id, "prod", project_id=rows.OTHER_PROJECT))

    with pytest.raises(exceptions.Conflict), database.transaction() as session_:
        rows.add(session_, rows.alias(function.id, "prod"))
    assert _count(database, models.FunctionAlias) == 2


def test_a_conflict_rolls_back_the_whole_transaction(database: Database) -> None:
    with database.transaction() as session_:
        function = rows.function()
        rows.add(session_, function)
        rows.add(session_, rows.version(function.id, 1))

    with pytest.raises(exceptions.Conflict), database.transaction() as session_:
        rows.add(session_, rows.webhook(function.id))
        rows.add(session_, rows.version(function.id, 1))
    assert _count(database, models.Webhook) == 0


def test_an_error_in_the_block_rolls_back(database: Database) -> None:
    with pytest.raises(RuntimeError), database.transaction() as session_:
        rows.add(session_, rows.runtime())
        raise RuntimeError("boom")
    assert _count(database, models.Runtime) == 0


def test_from_conf_defaults_to_sqlite_in_state_dir(tmp_path) -> None:
    state_dir = tmp_path / "state" / "deeper"
    conf = qinling_conf.new_config([])
    conf.set_override("state_dir", str(state_dir))

    database = Database.from_conf(conf)
    try:
        assert database.url == session.default_url(str(state_dir))
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        database.dispose()
    assert os.path.exists(state_dir / "qinling.sqlite")
