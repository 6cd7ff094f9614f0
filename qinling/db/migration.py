"""Schema migrations: Alembic driven from code, no alembic.ini needed.

The scripts live in the package (``qinling/db/migrations``) so that an
installed service can migrate its database with ``qinling-db-manage``.
"""

from __future__ import annotations

import os

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import Script, ScriptDirectory

# A package resource, resolved wherever the package is installed.
SCRIPT_LOCATION = "qinling.db:migrations"


def _config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    # New revision files sort by their id: 0002_add_x.py after 0001_initial.py.
    config.set_main_option("file_template", "%%(rev)s_%%(slug)s")
    # The URL travels outside the ini options so that a '%' in a password
    # is not taken for configparser interpolation.
    config.attributes["url"] = url
    _ensure_sqlite_dir(url)
    return config


def _sqlite_file(url: str) -> str | None:
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        return os.path.abspath(parsed.database)
    return None


def _ensure_sqlite_dir(url: str) -> None:
    path = _sqlite_file(url)
    if path is not None:
        os.makedirs(os.path.dirname(path), exist_ok=True)


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    command.downgrade(_config(url), revision)


def current(url: str) -> str | None:
    """The revision the database is at, or None for an empty database."""
    path = _sqlite_file(url)
    if path is not None and not os.path.exists(path):
        return None  # and do not create the file just to look at it
    engine = sa.create_engine(url, poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def head() -> str:
    """The newest revision of the shipped scripts."""
    return ScriptDirectory.from_config(_config("sqlite://")).get_current_head() or ""


def _next_id(config: Config) -> str:
    # Revisions are numbered 0001, 0002, ... so that their files sort in order.
    current_head = ScriptDirectory.from_config(config).get_current_head() or "0"
    return f"{int(current_head) + 1:04d}"


def revision(url: str, message: str, autogenerate: bool = False) -> Script | None:
    """Write a new revision script; with ``autogenerate``, diff ``url`` against the models.

    For developers working in a source tree: the file lands beside the others
    in ``qinling/db/migrations/versions``.
    """
    config = _config(url)
    result = command.revision(
        config, message=message, autogenerate=autogenerate, rev_id=_next_id(config)
    )
    return result[0] if isinstance(result, list) else result
