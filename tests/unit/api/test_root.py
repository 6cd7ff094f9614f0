"""The version documents at / and /v1, and the OpenAPI document."""

from __future__ import annotations

import re

import falcon.routing
import openapi_spec_validator
import pytest

from qinling.api import v1
from tests.unit.api.conftest import P1

BASE = "http://falconframework.org"


def test_root_lists_v1(api):
    root = api.get("/")

    assert root.status_code == 200
    [version] = root.json["versions"]
    assert (version["id"], version["status"]) == ("v1.0", "CURRENT")
    assert version["link"] == {"href": f"{BASE}/v1", "target": "v1"}


def test_v1_lists_collections(api):
    document = api.get("/v1", headers=P1)

    assert document.status_code == 200
    assert document.json["version"]["id"] == "v1.0"
    hrefs = {r["name"]: r["href"] for r in document.json["resources"]}
    assert hrefs["functions"] == f"{BASE}/v1/functions"
    assert set(hrefs) >= {"runtimes", "functions", "executions", "jobs", "webhooks", "aliases"}


def test_version_documents_use_public_url(api):
    api.conf.set_override("public_url", "https://faas.example.com/", group="api")

    assert api.get("/").json["versions"][0]["link"]["href"] == "https://faas.example.com/v1"


def test_trailing_slash_is_the_same_resource(api):
    assert api.get("/v1/").json == api.get("/v1").json
    assert api.get("/v1/functions/").json == api.get("/v1/functions").json


def test_every_response_carries_a_request_id(api):
    answer = api.get("/v1/functions", headers={"X-Openstack-Request-Id": "req-given"})

    assert answer.headers["x-openstack-request-id"] == "req-given"
    assert api.get("/v1").headers["x-openstack-request-id"].startswith("req-")


@pytest.fixture(scope="module")
def openapi(shared_api) -> dict:
    served = shared_api.get("/v1/openapi.json")
    assert served.status_code == 200
    return served.json


def test_openapi_document_is_valid(openapi):
    openapi_spec_validator.validate(openapi)


def test_openapi_has_every_route(openapi):
    assert set(openapi["paths"]) == {path for path, _ in v1.routes(None)}


def test_openapi_has_every_method_of_every_route(openapi):
    for path, resource in v1.routes(None):
        served = {m.lower() for m in falcon.routing.map_http_methods(resource)}
        documented = set(openapi["paths"][path])

        assert documented == served & {"get", "post", "put", "delete"}, path


def test_openapi_path_parameters_match_templates(openapi):
    for path, operations in openapi["paths"].items():
        names = set(re.findall(r"{(\w+)}", path))
        for operation in operations.values():
            in_path = {p["name"] for p in operation["parameters"] if p["in"] == "path"}
            assert in_path == names, path


def test_openapi_documents_request_bodies(openapi):
    create_function = openapi["paths"]["/v1/functions"]["post"]["requestBody"]["content"]
    create_execution = openapi["paths"]["/v1/executions"]["post"]["requestBody"]["content"]

    assert "package" in create_function["multipart/form-data"]["schema"]["properties"]
    assert "function_id" in create_execution["application/json"]["schema"]["properties"]


def test_openapi_needs_no_credentials(api):
    assert api.get("/v1/openapi.json", headers=P1).status_code == 200
