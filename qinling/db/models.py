"""SQLAlchemy models of every resource; the Alembic migrations follow them.

Ids are UUID strings. Every row but a runtime belongs to one project. JSON
payloads (function input, results, code descriptions) are kept as text so
the stored form is byte-for-byte what the API returns.
"""

from __future__ import annotations

import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column

from qinling import ids

# Named constraints so that migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# MySQL's TEXT stops at 64 KiB; logs and results need more.
LongText = Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def new_id() -> str:
    return ids.time_ordered()


def utcnow() -> datetime.datetime:
    # Stored naive in UTC: MySQL has no time zones in DATETIME.
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class TimestampMixin:
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime.datetime | None] = mapped_column(
        DateTime, default=None, onupdate=utcnow
    )


class Runtime(TimestampMixin, Base):
    __tablename__ = "runtimes"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    image: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))
    status_reason: Mapped[str | None] = mapped_column(Text)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    trusted: Mapped[bool] = mapped_column(Boolean, default=True)
    project_id: Mapped[str] = mapped_column(String(80), index=True)


class Function(TimestampMixin, Base):
    __tablename__ = "functions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    runtime_id: Mapped[str | None] = mapped_column(
        String(36), ForeignKey("runtimes.id"), index=True
    )
    memory_size: Mapped[int] = mapped_column(BigInteger)
    cpu: Mapped[int] = mapped_column(Integer)
    timeout: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(Text)
    entry: Mapped[str | None] = mapped_column(String(255))
    environment: Mapped[dict | None] = mapped_column(JSON)
    concurrency: Mapped[int | None] = mapped_column(Integer)
    package_digest: Mapped[str | None] = mapped_column(String(64))
    package_size: Mapped[int | None] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer, default=0)
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    trust_id: Mapped[str | None] = mapped_column(String(80))
    project_id: Mapped[str] = mapped_column(String(80), index=True)


class FunctionVersion(TimestampMixin, Base):
    """An immutable snapshot of a function's code and settings."""

    __tablename__ = "function_versions"
    __table_args__ = (UniqueConstraint("function_id", "version_number"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    function_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("functions.id", ondelete="CASCADE"), index=True
    )
    version_number: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(String(255))
    runtime_id: Mapped[str | None] = mapped_column(String(36))
    memory_size: Mapped[int] = mapped_column(BigInteger)
    cpu: Mapped[int] = mapped_column(Integer)
    timeout: Mapped[int] = mapped_column(Integer)
    code: Mapped[str] = mapped_column(Text)
    entry: Mapped[str | None] = mapped_column(String(255))
    environment: Mapped[dict | None] = mapped_column(JSON)
    package_digest: Mapped[str | None] = mapped_column(String(64))
    count: Mapped[int] = mapped_column(Integer, default=0)
    project_id: Mapped[str] = mapped_column(String(80), index=True)


class FunctionAlias(TimestampMixin, Base):
    __tablename__ = "function_aliases"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(255))
    function_id: Mapped[str] = mapped_column(String(36), ForeignKey("functions.id"), index=True)
    function_version: Mapped[int] = mapped_column(Integer, default=0)
    # Beyond Qinling: a second version taking ``additional_weight`` percent.
    additional_version: Mapped[int | None] = mapped_column(Integer)
    additional_weight: Mapped[int | None] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(80))


class Execution(TimestampMixin, Base):
    __tablename__ = "executions"
    __table_args__ = (
        Index("ix_executions_status_updated_at", "status", "updated_at"),
        Index("ix_executions_project_id_created_at", "project_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    function_id: Mapped[str] = mapped_column(String(36), index=True)
    function_version: Mapped[int] = mapped_column(Integer, default=0)
    function_alias: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    input: Mapped[str | None] = mapped_column(LongText)
    result: Mapped[str | None] = mapped_column(LongText)
    logs: Mapped[str | None] = deferred(mapped_column(LongText))
    status: Mapped[str] = mapped_column(String(32))
    sync: Mapped[bool] = mapped_column(Boolean, default=True)
    cold_start: Mapped[bool | None] = mapped_column(Boolean)
    init_duration: Mapped[float | None] = mapped_column(Float)
    duration: Mapped[float | None] = mapped_column(Float)
    memory_peak: Mapped[int | None] = mapped_column(BigInteger)
    engine_host: Mapped[str | None] = mapped_column(String(255))
    started_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    finished_at: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    project_id: Mapped[str] = mapped_column(String(80))


class Job(TimestampMixin, Base):
    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_status_next_execution_time", "status", "next_execution_time"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str | None] = mapped_column(String(255))
    function_id: Mapped[str] = mapped_column(String(36), index=True)
    function_version: Mapped[int] = mapped_column(Integer, default=0)
    function_alias: Mapped[str | None] = mapped_column(String(255))
    function_input: Mapped[str | None] = mapped_column(Text)
    pattern: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))
    status_reason: Mapped[str | None] = mapped_column(Text)
    first_execution_time: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    next_execution_time: Mapped[datetime.datetime | None] = mapped_column(DateTime)
    count: Mapped[int | None] = mapped_column(Integer)
    trust_id: Mapped[str | None] = mapped_column(String(80))
    project_id: Mapped[str] = mapped_column(String(80), index=True)


class Webhook(TimestampMixin, Base):
    __tablename__ = "webhooks"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    function_id: Mapped[str] = mapped_column(String(36), index=True)
    function_version: Mapped[int] = mapped_column(Integer, default=0)
    function_alias: Mapped[str | None] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(255))
    secret: Mapped[str | None] = mapped_column(String(255))
    trust_id: Mapped[str | None] = mapped_column(String(80))
    project_id: Mapped[str] = mapped_column(String(80), index=True)
