"""The migrations build exactly the models' schema, and undo it."""

from __future__ import annotations

import pathlib
import shutil

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from qinling.cmd import db_manage
from qinling.db import migration, models

MIGRATIONS = pathlib.Path(migration.__file__).parent / "migrations"


def _schema_differences(url: str, metadata: sa.MetaData) -> list:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "compare_server_default": True}
            )
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_up_down_and_up_again(empty_db_url: str) -> None:
    assert migration.current(empty_db_url) is None

    migration.upgrade(empty_db_url)
    assert migration.current(empty_db_url) == migration.head()
    assert _tables(empty_db_url) == set(models.Base.metadata.tables) | {"alembic_version"}

    migration.downgrade(empty_db_url, "base")
    assert migration.current(empty_db_url) is None
    assert _tables(empty_db_url) == {"alembic_version"}

    migration.upgrade(empty_db_url, "head")
    assert migration.current(empty_db_url) == migration.head()
    assert _schema_differences(empty_db_url, models.Base.metadata) == []


def test_the_migrated_schema_is_the_models_schema(db_url: str) -> None:
    assert _schema_differences(db_url, models.Base.metadata) == []


def test_the_comparison_sees_a_difference(db_url: str) -> None:
    # Guards the test above: a schema that differs must be reported.
    changed = sa.MetaData(naming_convention=models.NAMING_CONVENTION)
    for table in models.Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["runtimes"].c.image.type = sa.String(100)
    changed.tables["functions"].c.environment.type = sa.Integer()
    sa.Index("ix_jobs_name", changed.tables["jobs"].c.name)

    differences = _schema_differences(db_url, changed)
    # Column changes come grouped in lists, the rest as tuples; [0] is the kind.
    kinds = {(diff[0] if isinstance(diff, list) else diff)[0] for diff in differences}
    assert kinds == {"modify_type", "add_index"}


def test_current_of_a_missing_sqlite_file_creates_nothing(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "absent" / "qinling.sqlite"
    assert migration.current(f"sqlite:///{path}") is None
    assert not path.parent.exists()


@pytest.mark.db_backends("sqlite")
def test_autogenerate_finds_nothing_to_do(
    db_url: str, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    shipped_head = migration.head()
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(migration, "SCRIPT_LOCATION", str(scripts))

    script = migration.revision(db_url, "nothing changed", autogenerate=True)

    text = pathlib.Path(script.path).read_text()
    assert script.down_revision == shipped_head
    assert script.revision == f"{int(shipped_head) + 1:04d}"
    assert pathlib.Path(script.path).name == f"{script.revision}_nothing_changed.py"
    assert "op." not in text, text
    compile(text, script.path, "exec")


def test_db_manage_commands(
    empty_db_url: str,
    tmp_path: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "qinling.conf"
    config.write_text(f"[database]\nconnection = {empty_db_url}\n")

    def run(*argv: str) -> str:
        db_manage.main(["--config-file", str(config), *argv])
        return capsys.readouterr().out.strip()

    assert run("current") == "base (empty database)"
    run("upgrade")
    assert run("current") == f"{migration.head()} (head)"
    run("downgrade", "base")
    assert _tables(empty_db_url) == {"alembic_version"}
    run("upgrade", migration.head())
    assert run("current") == f"{migration.head()} (head)"


def test_db_manage_defaults_to_sqlite_in_state_dir(tmp_path: pathlib.Path) -> None:
    state_dir = tmp_path / "state"
    config = tmp_path / "qinling.conf"
    config.write_text(f"[DEFAULT]\nstate_dir = {state_dir}\n")

    db_manage.main(["--config-file", str(config), "upgrade"])

    url = f"sqlite:///{state_dir / 'qinling.sqlite'}"
    assert migration.current(url) == migration.head()


def test_db_manage_reports_an_unreachable_database(tmp_path: pathlib.Path) -> None:
    config = tmp_path / "qinling.conf"
    # Nothing listens on port 1.
    config.write_text("[database]\nconnection = postgresql+psycopg2://qinling@127.0.0.1:1/q\n")

    with pytest.raises(SystemExit, match="the database is unavailable"):
        db_manage.main(["--config-file", str(config), "current"])
