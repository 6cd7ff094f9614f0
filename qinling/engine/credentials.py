"""OpenStack credentials a function runs with: a token of its owner, through a trust.

The engine asks Keystone, as the Qinling service user scoped to the
function's trust, for a token that acts as the function's owner. Only that
token and Keystone's URL reach the function, never the service user's
password. Tokens are cached per trust until ``[keystone]
token_refresh_margin`` seconds before they expire.
"""

from __future__ import annotations

import abc
import dataclasses
import datetime
import logging
import threading
from collections.abc import Callable
from typing import Any

from keystoneauth1 import exceptions as ks_exceptions

from qinling import exceptions, service_auth
from qinling.work_gate import GATE

LOG = logging.getLogger(__name__)

Clock = Callable[[], datetime.datetime]


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@dataclasses.dataclass(frozen=True)
class TrustToken:
    token: str
    expires_at: datetime.datetime


class FunctionCredentials(abc.ABC):
    @abc.abstractmethod
    def for_function(self, project_id: str, trust_id: str | None) -> dict[str, Any]:
        """What goes into the function's context: ``{"token", "auth_url"}``, or nothing."""


class NoCredentials(FunctionCredentials):
    """``auth_strategy = noauth``: functions get no OpenStack credentials."""

    def for_function(self, project_id: str, trust_id: str | None) -> dict[str, Any]:
        return {}


class TrustCredentials(FunctionCredentials):
    """Trust-scoped tokens of function owners.

    ``issue(trust_id)`` asks Keystone for a token; injected in tests.
    """

    def __init__(
        self,
        *,
        auth_url: str,
        issue: Callable[[str], TrustToken],
        refresh_margin: float = 300,
        clock: Clock = utcnow,
    ) -> None:
        self._auth_url = auth_url
        self._issue = issue
        self._margin = datetime.timedelta(seconds=refresh_margin)
        self._clock = clock
        self._tokens: dict[str, TrustToken] = {}
        self._lock = threading.Lock()

    def for_function(self, project_id: str, trust_id: str | None) -> dict[str, Any]:
        if not trust_id:
            return {}
        token = self._token(trust_id)
        return {"token": token.token, "auth_url": self._auth_url}

    def _token(self, trust_id: str) -> TrustToken:
        with self._lock:
            cached = self._tokens.get(trust_id)
        if cached is not None and cached.expires_at - self._margin > self._clock():
            return cached
        with GATE.waiting():  # a call to Keystone
            fresh = self._issue(trust_id)
        with self._lock:
            self._tokens[trust_id] = fresh
            self._forget_expired()
        return fresh

    def _forget_expired(self) -> None:
        now = self._clock()
        for trust_id in [t for t, token in self._tokens.items() if token.expires_at <= now]:
            del self._tokens[trust_id]


def keystone_issuer(conf) -> Callable[[str], TrustToken]:
    def issue(trust_id: str) -> TrustToken:
        auth = service_auth.load_for_trust(conf, trust_id)
        try:
            access = auth.get_access(service_auth.new_session(auth))
        except ks_exceptions.ClientException as err:
            raise exceptions.ServiceUnavailable(
                f"Keystone gave no token for trust {trust_id}: {err}"
            ) from err
        return TrustToken(access.auth_token, access.expires)

    return issue


def load(conf) -> FunctionCredentials:
    if conf.auth_strategy != "keystone":
        return NoCredentials()
    auth_url = conf.keystone.function_auth_url or service_auth.load(conf).auth_url
    return TrustCredentials(
        auth_url=auth_url,
        issue=keystone_issuer(conf),
        refresh_margin=conf.keystone.token_refresh_margin,
    )
