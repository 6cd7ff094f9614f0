"""The initial schema: runtimes, functions, versions, aliases, executions, jobs, webhooks.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Written by hand to match ``qinling.db.models``; it names every constraint
and index so that later revisions can alter them on every backend. Types are
spelled out here rather than imported, so that this revision keeps creating
the same schema whatever the models become.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# MySQL's TEXT stops at 64 KiB; inputs, results and logs need more.
LONG_TEXT = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")
ID = sa.String(36)
PROJECT_ID = sa.String(80)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
    ]


def _index(table: str, *columns: str) -> None:
    op.create_index(op.f(f"ix_{table}_{'_'.join(columns)}"), table, list(columns))


def _create_runtimes() -> None:
    op.create_table(
        "runtimes",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("description", sa.String(255), nullable=True),
        sa.Column("image", sa.String(255), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("is_public", sa.Boolean(), nullable=False),
        sa.Column("trusted", sa.Boolean(), nullable=False),
        sa.Column("project_id", PROJECT_ID, nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_runtimes")),
    )
    _index("runtimes", "project_id")


def _create_functions() -> None:
    op.create_table(
        "functions",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("description", sa.String(255), nullable=True),
        sa.Column("runtime_id", ID, nullable=True),
        sa.Column("memory_size", sa.BigInteger(), nullable=False),
        sa.Column("cpu", sa.Integer(), nullable=False),
        sa.Column("timeout", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("entry", sa.String(255), nullable=True),
        sa.Column("environment", sa.JSON(), nullable=True),
        sa.Column("concurrency", sa.Integer(), nullable=True),
        sa.Column("package_digest", sa.String(64), nullable=True),
        sa.Column("package_size", sa.BigInteger(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        sa.Column("trust_id", sa.String(80), nullable=True),
        sa.Column("project_id", PROJECT_ID, nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_functions")),
        sa.ForeignKeyConstraint(
            ["runtime_id"], ["runtimes.id"], name=op.f("fk_functions_runtime_id_runtimes")
        ),
    )
    _index("functions", "runtime_id")
    _index("functions", "project_id")


def _create_function_versions() -> None:
    op.create_table(
        "function_versions",
        sa.Column("id", ID, nullable=False),
        sa.Column("function_id", ID, nullable=False),
        sa.Column("version_number", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(255), nullable=True),
        sa.Column("runtime_id", ID, nullable=True),
        sa.Column("memory_size", sa.BigInteger(), nullable=False),
        sa.Column("cpu", sa.Integer(), nullable=False),
        sa.Column("timeout", sa.Integer(), nullable=False),
        sa.Column("code", sa.Text(), nullable=False),
        sa.Column("entry", sa.String(255), nullable=True),
        sa.Column("environment", sa.JSON(), nullable=True),
        sa.Column("package_digest", sa.String(64), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("project_id", PROJECT_ID, nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_function_versions")),
        sa.ForeignKeyConstraint(
            ["function_id"],
            ["functions.id"],
            name=op.f("fk_function_versions_function_id_functions"),
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "function_id",
            "version_number",
            name=op.f("uq_function_versions_function_id_version_number"),
        ),
    )
    _index("function_versions", "function_id")
    _index("function_versions", "project_id")


def _create_function_aliases() -> None:
    op.create_table(
        "function_aliases",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("function_id", ID, nullable=False),
        sa.Column("function_version", sa.Integer(), nullable=False),
        sa.Column("additional_version", sa.Integer(), nullable=True),
        sa.Column("additional_weight", sa.Integer(), nullable=True),
        sa.Column("description", sa.String(255), nullable=True),
        sa.Column("project_id", PROJECT_ID, nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_function_aliases")),
        sa.ForeignKeyConstraint(
            ["function_id"],
            ["functions.id"],
            name=op.f("fk_function_aliases_function_id_functions"),
        ),
        sa.UniqueConstraint("project_id", "name", name=op.f("uq_function_aliases_project_id_name")),
    )
    _index("function_aliases", "function_id")


def _create_executions() -> None:
    op.create_table(
        "executions",
        sa.Column("id", ID, nullable=False),
        sa.Column("function_id", ID, nullable=False),
        sa.Column("function_version", sa.Integer(), nullable=False),
        sa.Column("function_alias", sa.String(255), nullable=True),
        sa.Column("description", sa.String(255), nullable=True),
        sa.Column("input", LONG_TEXT, nullable=True),
        sa.Column("result", LONG_TEXT, nullable=True),
        sa.Column("logs", LONG_TEXT, nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("sync", sa.Boolean(), nullable=False),
        sa.Column("cold_start", sa.Boolean(), nullable=True),
        sa.Column("init_duration", sa.Float(), nullable=True),
        sa.Column("duration", sa.Float(), nullable=True),
        sa.Column("memory_peak", sa.BigInteger(), nullable=True),
        sa.Column("engine_host", sa.String(255), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("project_id", PROJECT_ID, nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_executions")),
    )
    _index("executions", "function_id")
    _index("executions", "status", "updated_at")
    _index("executions", "project_id", "created_at")


def _create_jobs() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("function_id", ID, nullable=False),
        sa.Column("function_version", sa.Integer(), nullable=False),
        sa.Column("function_alias", sa.String(255), nullable=True),
        sa.Column("function_input", sa.Text(), nullable=True),
        sa.Column("pattern", sa.String(255), nullable=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=True),
        sa.Column("first_execution_time", sa.DateTime(), nullable=True),
        sa.Column("next_execution_time", sa.DateTime(), nullable=True),
        sa.Column("count", sa.Integer(), nullable=True),
        sa.Column("trust_id", sa.String(80), nullable=True),
        sa.Column("project_id", PROJECT_ID, nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    _index("jobs", "function_id")
    _index("jobs", "project_id")
    _index("jobs", "status", "next_execution_time")


def _create_webhooks() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", ID, nullable=False),
        sa.Column("function_id", ID, nullable=False),
        sa.Column("function_version", sa.Integer(), nullable=False),
        sa.Column("function_alias", sa.String(255), nullable=True),
        sa.Column("description", sa.String(255), nullable=True),
        sa.Column("secret", sa.String(255), nullable=True),
        sa.Column("trust_id", sa.String(80), nullable=True),
        sa.Column("project_id", PROJECT_ID, nullable=False),
        *_timestamps(),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    _index("webhooks", "function_id")
    _index("webhooks", "project_id")


def upgrade() -> None:
    _create_runtimes()
    _create_functions()
    _create_function_versions()
    _create_function_aliases()
    _create_executions()
    _create_jobs()
    _create_webhooks()


def downgrade() -> None:
    # Children before parents: the foreign keys point up this list.
    for table in (
        "webhooks",
        "jobs",
        "executions",
        "function_aliases",
        "function_versions",
        "functions",
        "runtimes",
    ):
        op.drop_table(table)
