"""Every committed change of what running a function reads moves the
database's ``SpecChanges``; nothing else does, and every process that opens
the same SQLite file sees the same number."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa

from qinling.db import models, spec_changes
from qinling.db.session import Database
from tests.unit.db import rows


def _function(database: Database, **values) -> str:
    with database.transaction() as session_:
        runtime = rows.runtime()
        rows.add(session_, runtime)
        function = rows.function(runtime_id=runtime.id, **values)
        rows.add(session_, function)
        return function.id


def _moves(database: Database, change) -> bool:
    changes = database.spec_changes
    assert changes is not None
    before = changes.value()
    change()
    return changes.value() != before


def test_creating_updating_and_deleting_a_function_move_it(database: Database) -> None:
    function_id = _function(database)

    def update() -> None:
        with database.transaction() as session_:
            session_.get(models.Function, function_id).entry = "other.main"

    def delete() -> None:
        with database.transaction() as session_:
            session_.delete(session_.get(models.Function, function_id))

    assert _moves(database, lambda: _function(database))
    assert _moves(database, update)
    assert _moves(database, delete)


def test_statements_on_runtimes_versions_and_aliases_move_it(database: Database) -> None:
    function_id = _function(database)

    def runtime_status() -> None:
        with database.transaction() as session_:
            session_.execute(sa.update(models.Runtime).values(status="error"))

    def new_version() -> None:
        with database.transaction() as session_:
            rows.add(session_, rows.version(function_id, 1))

    def new_alias() -> None:
        with database.transaction() as session_:
            rows.add(session_, rows.alias(function_id, "prod"))

    def drop_versions() -> None:
        with database.transaction() as session_:
            session_.execute(
                sa.delete(models.FunctionVersion).where(
                    models.FunctionVersion.function_id == function_id
                )
            )

    for change in (runtime_status, new_version, new_alias, drop_versions):
        assert _moves(database, change), change.__name__


def test_executions_jobs_and_reads_leave_it(database: Database) -> None:
    function_id = _function(database)

    def execution() -> None:
        with database.transaction() as session_:
            rows.add(session_, rows.execution(function_id))
            session_.execute(sa.update(models.Execution).values(status="success"))

    def job() -> None:
        with database.transaction() as session_:
            rows.add(session_, rows.job(function_id))

    def read() -> None:
        with database.transaction() as session_:
            session_.get(models.Function, function_id)

    for change in (execution, job, read):
        assert not _moves(database, change), change.__name__


def test_a_rolled_back_change_leaves_it(database: Database) -> None:
    function_id = _function(database)

    def failed_update() -> None:
        with pytest.raises(RuntimeError), database.transaction() as session_:
            session_.get(models.Function, function_id).entry = "other.main"
            session_.flush()
            raise RuntimeError("abort")

    assert not _moves(database, failed_update)
    # The next commit of something else does not count the rolled-back flush.
    with database.transaction() as session_:
        rows.add(session_, rows.job(function_id))
    assert not _moves(database, lambda: None)


def test_processes_of_one_sqlite_file_share_it(tmp_path) -> None:
    path = tmp_path / "q.sqlite"
    here = spec_changes.for_url(f"sqlite:///{path}")
    assert here is not None
    before = here.value()
    code = f"from qinling.db import spec_changes; spec_changes.for_url('sqlite:///{path}').bump()"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    assert here.value() != before


def test_only_where_every_writer_shares_it() -> None:
    assert spec_changes.for_url("postgresql://u@127.0.0.1/q") is None
    assert spec_changes.for_url("mysql+pymysql://root@127.0.0.1/q") is None
    in_memory = spec_changes.for_url("sqlite://")
    assert in_memory is not None
    before = in_memory.value()
    in_memory.bump()
    assert in_memory.value() > before


def test_a_directory_it_cannot_be_made_in_leaves_the_service_without_it(tmp_path) -> None:
    # As root the permissions would not stop us: a file where the directory should be.
    (tmp_path / "not-a-directory").write_text("")
    assert spec_changes.for_url(f"sqlite:///{tmp_path}/not-a-directory/q.sqlite") is None
