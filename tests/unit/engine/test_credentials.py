"""The function owner's credentials: trust tokens, cached until near expiry."""

from __future__ import annotations

import datetime

from qinling import conf as qconf
from qinling import exceptions
from qinling.engine import credentials

T0 = datetime.datetime(2030, 1, 1, tzinfo=datetime.UTC)


class FakeKeystone:
    def __init__(self, lifetime: int = 3600) -> None:
        self.issued: list[str] = []
        self.lifetime = datetime.timedelta(seconds=lifetime)
        self.now = T0

    def issue(self, trust_id: str) -> credentials.TrustToken:
        self.issued.append(trust_id)
        return credentials.TrustToken(f"token-{len(self.issued)}", self.now + self.lifetime)


def helper(keystone: FakeKeystone, margin: int = 300) -> credentials.TrustCredentials:
    return credentials.TrustCredentials(
        auth_url="http://keystone/v3",
        issue=keystone.issue,
        refresh_margin=margin,
        clock=lambda: keystone.now,
    )


def test_gives_a_trust_token_and_the_auth_url_only():
    got = helper(FakeKeystone()).for_function("p1", "trust-1")
    assert got == {"token": "token-1", "auth_url": "http://keystone/v3"}


def test_no_trust_no_credentials():
    keystone = FakeKeystone()
    assert helper(keystone).for_function("p1", None) == {}
    assert keystone.issued == []


def test_tokens_are_cached_per_trust_until_near_expiry():
    keystone = FakeKeystone(lifetime=3600)
    creds = helper(keystone, margin=300)
    assert creds.for_function("p1", "t1")["token"] == "token-1"
    assert creds.for_function("p2", "t2")["token"] == "token-2"
    keystone.now = T0 + datetime.timedelta(seconds=3299)
    assert creds.for_function("p1", "t1")["token"] == "token-1"
    keystone.now = T0 + datetime.timedelta(seconds=3301)
    assert creds.for_function("p1", "t1")["token"] == "token-3"
    assert keystone.issued == ["t1", "t2", "t1"]


def test_keystone_errors_reach_the_caller():
    def refuse(trust_id):
        raise exceptions.ServiceUnavailable("no")

    creds = credentials.TrustCredentials(auth_url="u", issue=refuse)
    try:
        creds.for_function("p1", "t1")
    except exceptions.ServiceUnavailable as err:
        assert err.message == "no"
    else:
        raise AssertionError("expected ServiceUnavailable")


def test_noauth_gives_nothing():
    conf = qconf.new_config([])
    assert isinstance(credentials.load(conf), credentials.NoCredentials)
    assert credentials.load(conf).for_function("p1", "t1") == {}
