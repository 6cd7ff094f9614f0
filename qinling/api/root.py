"""Version documents at / and /v1, as OpenStack services publish them."""

from __future__ import annotations

import falcon

from qinling.api.deps import Deps


def _v1(base: str) -> dict:
    return {
        "id": "v1.0",
        "status": "CURRENT",
        "link": {"href": f"{base}/v1", "target": "v1"},
        "links": [{"href": f"{base}/v1/", "rel": "self"}],
    }


class Root:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        resp.media = {"versions": [_v1(self.deps.base_url(req))]}


class V1Root:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
        base = self.deps.base_url(req)
        collections = ("runtimes", "functions", "executions", "jobs", "webhooks", "aliases")
        resp.media = {
            "version": _v1(base),
            "resources": [{"name": c, "href": f"{base}/v1/{c}"} for c in collections],
        }
