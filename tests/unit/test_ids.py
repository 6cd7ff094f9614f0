"""Identifiers: time-ordered version 7 UUIDs, random version 4 UUIDs, never repeated."""

from __future__ import annotations

import os
import time
import uuid

from qinling import ids


def test_time_ordered_ids_are_version_7_and_carry_the_time() -> None:
    before = time.time_ns() // 1_000_000
    made = uuid.UUID(ids.time_ordered())
    after = time.time_ns() // 1_000_000
    assert (made.version, made.variant) == (7, uuid.RFC_4122)
    assert before <= made.int >> 80 <= after


def test_ids_made_later_sort_after_earlier_ones() -> None:
    first = ids.time_ordered()
    time.sleep(0.002)
    assert ids.time_ordered() > first


def test_no_id_repeats() -> None:
    made = {ids.time_ordered() for _ in range(20000)} | {ids.random_uuid() for _ in range(20000)}
    assert len(made) == 40000
    parsed = [uuid.UUID(text) for text in made]
    assert {u.version for u in parsed} == {4, 7}
    assert {u.variant for u in parsed} == {uuid.RFC_4122}
    assert all(str(u) == text for u, text in zip(parsed, made, strict=True))


def test_a_forked_child_does_not_repeat_its_parents_ids() -> None:
    ids.time_ordered()  # the pool holds bytes the child must not reuse
    read, write = os.pipe()
    child = os.fork()
    if child == 0:
        os.write(write, ids.random_uuid().encode())
        os._exit(0)
    os.close(write)
    from_child = os.read(read, 36).decode()
    os.close(read)
    os.waitpid(child, 0)
    assert from_child != ids.random_uuid()
