"""Alembic environment of Qinling's schema.

Run through ``qinling.db.migration`` (or ``qinling-db-manage``), which puts
the database URL in ``config.attributes["url"]``. A caller that already has
a connection may pass it as ``config.attributes["connection"]`` instead.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from qinling.db import models

config = context.config
target_metadata = models.Base.metadata

COMPARE_OPTIONS = {"compare_type": True, "compare_server_default": True}


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("No database URL given to the migrations.")
    return url


def _is_sqlite(url_or_dialect: str) -> bool:
    return url_or_dialect.startswith("sqlite")


def run_offline() -> None:
    """Emit the SQL to stdout instead of running it (``--sql``)."""
    url = _url()
    context.configure(
        url=url,
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=_is_sqlite(url),
        **COMPARE_OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_on(connection: sa.Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things: later revisions rebuild tables.
        render_as_batch=_is_sqlite(connection.dialect.name),
        transaction_per_migration=True,
        **COMPARE_OPTIONS,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = sa.create_engine(_url(), poolclass=sa.NullPool)
    try:
        with engine.connect() as connection:
            _run_on(connection)
            connection.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
