"""What every API resource is built with."""

from __future__ import annotations

import dataclasses
import functools

import falcon

from qinling.api.invoker import Invoker
from qinling.api.policy import Enforcer
from qinling.api.trusts import TrustStore
from qinling.db.session import Database
from qinling.engine.client import EngineClient
from qinling.storage import PackageStore


@dataclasses.dataclass(frozen=True)
class Deps:
    conf: object
    db: Database
    engine: EngineClient
    storage: PackageStore
    policy: Enforcer
    trusts: TrustStore
    invoker: Invoker

    def base_url(self, req: falcon.Request) -> str:
        return (self.conf.api.public_url or req.prefix).rstrip("/")

    # Read once: an option's lookup costs 3 us, on every request otherwise.
    @functools.cached_property
    def max_body(self) -> int:
        return self.conf.api.max_request_body_size

    @functools.cached_property
    def max_limit(self) -> int:
        return self.conf.api.max_limit
