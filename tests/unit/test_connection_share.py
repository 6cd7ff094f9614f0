"""Connection counts shared by qinling-server's API processes."""

from __future__ import annotations

import os

import pytest

from qinling import connection_share
from qinling.connection_share import ConnectionShare


@pytest.fixture
def shares(tmp_path):
    """The views of 3 processes on one file: slot 0 creates it, 1 and 2 join."""
    first = ConnectionShare.create(str(tmp_path), 3)
    others = [
        ConnectionShare(os.path.join(tmp_path, connection_share.FILE_NAME), 3, slot)
        for slot in (1, 2)
    ]
    views = [first, *others]
    yield views
    for view in views:
        view.close()


def _open(share: ConnectionShare, count: int) -> None:
    for _ in range(count):
        share.opened()


def test_an_even_split_sheds_nothing(shares):
    for share in shares:
        _open(share, 11)
    assert not any(share.over_share() for share in shares)


def test_the_process_holding_most_sheds_until_it_holds_its_share(shares):
    for share, count in zip(shares, (18, 8, 6), strict=True):
        _open(share, count)
    assert [share.over_share() for share in shares] == [True, False, False]
    for _ in range(5):  # 18 -> 13, its clients reconnecting elsewhere
        shares[0].closed()
        shares[1 + _ % 2].opened()
    assert shares[0].over_share()  # 13 of 32: the share is 11, one more is slack
    shares[0].closed()
    shares[2].opened()
    assert not shares[0].over_share()  # 12


def test_one_connection_more_than_an_even_share_is_kept(shares):
    _open(shares[0], 2)  # 2 of 2: an even share is 1, plus the slack
    assert not shares[0].over_share()
    shares[0].opened()  # 3 of 3
    assert shares[0].over_share()


def test_a_process_started_again_counts_from_nothing(shares, tmp_path):
    _open(shares[1], 7)
    again = ConnectionShare(os.path.join(tmp_path, connection_share.FILE_NAME), 3, 1)
    _open(shares[0], 3)
    assert shares[0].over_share()  # 3 of 3: the 7 of the process that died are gone
    again.close()


def test_a_process_started_by_hand_has_no_share(tmp_path, monkeypatch):
    monkeypatch.delenv(connection_share.SLOT_ENV, raising=False)
    assert ConnectionShare.from_env(str(tmp_path), 3) is None
    ConnectionShare.create(str(tmp_path), 3).close()
    monkeypatch.setenv(connection_share.SLOT_ENV, "2")
    assert ConnectionShare.from_env(str(tmp_path), 1) is None  # one process: no one to share with
    joined = ConnectionShare.from_env(str(tmp_path), 3)
    assert joined is not None
    joined.close()


def test_shedding_counts_the_connection_gone_at_once(shares):
    """Answers going out before the first shed connection closes shed no more than needed."""
    for share, count in zip(shares, (18, 8, 6), strict=True):
        _open(share, count)
    shed = 0
    while shares[0].shed():
        shed += 1
    assert shed == 6  # 12 staying of 32: a share of 11, and one more
    for _ in range(6):  # their clients connect again, to the others this time
        shares[0].closed(shed=True)
        shares[1].opened()
    assert not shares[0].over_share()  # 12 of 32
