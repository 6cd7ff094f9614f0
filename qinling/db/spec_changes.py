"""When what running a function reads last changed, for caches of it.

Every sync execution reads its function with its runtime before it runs
(``records.RUN_QUERY``). An API process may keep what it read
(``db.run_targets``) if it learns of every change to those rows: a
function, a version, an alias or a runtime created, updated or deleted.
``SpecChanges`` is a number that every committed change of them moves,
shared by all the processes that write the database, and read without a
system call (a shared mapping).

Only where every writer of the database shares it: an SQLite file (one
host by nature) has one beside it, ``<file>-specs``, that every process
opening the file maps; an in-memory SQLite database has one in its only
process. A database server may be written from other hosts: no cache there
(``for_url`` gives None).

``watch`` moves it after each commit of an ORM session that wrote one of
those tables (an add, a change or a delete in a flush, or an UPDATE or
DELETE statement run on the session), which is how the API and the engine
write them. A Core statement that writes them elsewhere must call ``bump``
after its commit.
"""

from __future__ import annotations

import logging
import mmap
import os
import struct
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from qinling.db import models

LOG = logging.getLogger(__name__)

# What ``records.RUN_QUERY`` and an alias lookup read.
SPEC_TABLES = frozenset(
    {
        models.Function.__tablename__,
        models.FunctionVersion.__tablename__,
        models.FunctionAlias.__tablename__,
        models.Runtime.__tablename__,
    }
)

_VALUE = struct.Struct("=Q")
_WROTE_SPECS = "qinling.wrote_specs"  # a key of Session.info


class SpecChanges:
    """A number that changes with every committed change of ``SPEC_TABLES``.

    Readers compare it with the one they saw when they read the rows; it is
    moved after the commit, so a reader that sees the new number reads the
    new rows. Values are the monotonic clock's nanoseconds (system-wide on
    Linux), so two processes bumping at once both move it away from what
    any reader saw.
    """

    def __init__(self, memory: mmap.mmap) -> None:
        self._memory = memory

    @classmethod
    def in_file(cls, path: str) -> SpecChanges:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            if os.fstat(fd).st_size < _VALUE.size:
                os.ftruncate(fd, _VALUE.size)
            return cls(mmap.mmap(fd, _VALUE.size, mmap.MAP_SHARED))
        finally:
            os.close(fd)

    @classmethod
    def in_process(cls) -> SpecChanges:
        return cls(mmap.mmap(-1, _VALUE.size))

    def value(self) -> int:
        return _VALUE.unpack_from(self._memory)[0]

    def bump(self) -> None:
        _VALUE.pack_into(self._memory, 0, max(time.monotonic_ns(), self.value() + 1))


def for_url(url: str) -> SpecChanges | None:
    """The counter of the database at ``url``; None where writers may be on
    other hosts (a database server)."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if parsed.database in (None, "", ":memory:"):
        return SpecChanges.in_process()
    path = os.path.abspath(parsed.database) + "-specs"
    try:
        return SpecChanges.in_file(path)
    except OSError as err:  # a read-only directory: every execution reads then
        LOG.warning("Cannot map %s (%s); functions are read for every execution", path, err)
        return None


def watch(sessions: sessionmaker, changes: SpecChanges) -> None:
    """Bump ``changes`` after each commit of a session of ``sessions`` that
    wrote one of ``SPEC_TABLES``."""
    event.listen(sessions, "after_flush", _note_flush)
    event.listen(sessions, "do_orm_execute", _note_statement)
    event.listen(sessions, "after_commit", lambda session: _bump_if_written(session, changes))
    event.listen(sessions, "after_rollback", _forget)


def _note_flush(session: Session, _context: Any) -> None:
    for instance in (*session.new, *session.dirty, *session.deleted):
        if sa.inspect(instance).mapper.local_table.name in SPEC_TABLES:
            session.info[_WROTE_SPECS] = True
            return


def _note_statement(state: ORMExecuteState) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    if any(mapper.local_table.name in SPEC_TABLES for mapper in state.all_mappers):
        state.session.info[_WROTE_SPECS] = True


def _bump_if_written(session: Session, changes: SpecChanges) -> None:
    if session.info.pop(_WROTE_SPECS, False):
        changes.bump()


def _forget(session: Session) -> None:
    session.info.pop(_WROTE_SPECS, None)
