"""/v1/executions: run functions, read results and logs, list with filters and pages."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from tests.unit.api.conftest import P1, P2, make_zip

FAILING = "def main(**kwargs):\n    raise ValueError('no luck')\n"
POSITIONAL = "def main(text):\n    return text.upper()\n"


def _result(execution: dict) -> dict:
    return json.loads(execution["result"])


def test_sync_execution_returns_the_result(api, function):
    done = api.execute(function["id"], headers=P1)

    assert done["status"] == "success"
    assert done["sync"] is True
    assert _result(done)["output"] == "hello world"
    assert done["cold_start"] is True
    assert done["project_id"] == "p1"


def test_second_execution_is_warm(api, function):
    api.execute(function["id"], headers=P1)

    assert api.execute(function["id"], headers=P1)["cold_start"] is False


def test_object_input_becomes_keyword_arguments(api, function):
    done = api.execute(function["id"], input={"name": "qinling"}, headers=P1)

    assert _result(done)["output"] == "hello qinling"
    assert json.loads(done["input"]) == {"name": "qinling"}


def test_json_text_input_of_an_object_becomes_keyword_arguments(api, function):
    done = api.execute(function["id"], input='{"name": "text"}', headers=P1)

    assert _result(done)["output"] == "hello text"


def test_other_input_is_one_positional_argument(api, runtime):
    function = api.create_function(runtime["id"], package=make_zip({"main.py": POSITIONAL}))

    done = api.execute(function["id"], input="shout")

    assert done["status"] == "success"
    assert _result(done)["output"] == "SHOUT"
    assert done["input"] == "shout"


def test_function_error_is_a_failed_execution(api, runtime):
    function = api.create_function(runtime["id"], package=make_zip({"main.py": FAILING}))

    done = api.execute(function["id"])

    assert done["status"] == "failed"
    assert "no luck" in _result(done)["output"]


def test_async_execution_ends_later(api, function):
    accepted = api.execute(function["id"], sync=False, headers=P1)

    assert accepted["status"] == "running"
    assert accepted["sync"] is False
    done = api.wait_for(
        f"/v1/executions/{accepted['id']}", lambda e: e["status"] != "running", headers=P1
    )
    assert done["status"] == "success"
    assert _result(done)["output"] == "hello world"


def test_log_is_plain_text(api, function):
    done = api.execute(function["id"], input={"name": "log"}, headers=P1)

    log = api.get(f"/v1/executions/{done['id']}/log", headers=P1)

    assert log.status_code == 200
    assert log.headers["content-type"].startswith("text/plain")
    assert "saying hello to log" in log.text


def test_execution_needs_a_function(api):
    refused = api.post("/v1/executions", json={"input": "x"})

    assert refused.status_code == 400
    assert "function_id or function_alias" in refused.json["faultstring"]


def test_execution_of_missing_function_is_not_found(api):
    missing = api.post("/v1/executions", json={"function_id": "nope"})

    assert missing.status_code == 404


def test_delete_finished_execution(api, function):
    done = api.execute(function["id"], headers=P1)

    assert api.delete(f"/v1/executions/{done['id']}", headers=P1).status_code == 204
    assert api.get(f"/v1/executions/{done['id']}", headers=P1).status_code == 404


def test_filter_by_status_list(api, runtime, function):
    failing = api.create_function(runtime["id"], package=make_zip({"main.py": FAILING}), headers=P1)
    ok = api.execute(function["id"], headers=P1)
    bad = api.execute(failing["id"], headers=P1)

    both = api.get("/v1/executions", params={"status": "in:success,failed"}, headers=P1)
    failed = api.get("/v1/executions", params={"status": "failed"}, headers=P1)
    not_failed = api.get("/v1/executions", params={"status": "neq:failed"}, headers=P1)

    assert {e["id"] for e in both.json["executions"]} == {ok["id"], bad["id"]}
    assert [e["id"] for e in failed.json["executions"]] == [bad["id"]]
    assert [e["id"] for e in not_failed.json["executions"]] == [ok["id"]]


def test_filter_by_function(api, runtime, function):
    other = api.create_function(runtime["id"], headers=P1)
    mine = api.execute(function["id"], headers=P1)
    api.execute(other["id"], headers=P1)

    found = api.get("/v1/executions", params={"function_id": function["id"]}, headers=P1)

    assert [e["id"] for e in found.json["executions"]] == [mine["id"]]


def _follow(api, path: str, params: dict) -> list[list[str]]:
    """Every page's ids, following ``next`` links as a client does."""
    pages = []
    listed = api.get(path, params=params, headers=P1)
    while True:
        assert listed.status_code == 200, listed.text
        pages.append([e["id"] for e in listed.json["executions"]])
        if "next" not in listed.json:
            return pages
        link = urlsplit(listed.json["next"])
        listed = api.get(link.path, query_string=link.query, headers=P1)


def test_pagination_follows_next_links(api, function):
    ids = [api.execute(function["id"], headers=P1)["id"] for _ in range(5)]
    by_id = sorted(ids)

    pages = _follow(api, "/v1/executions", {"limit": 2, "sort_key": "id"})

    assert pages == [by_id[0:2], by_id[2:4], by_id[4:5]]


def test_pagination_descending(api, function):
    ids = sorted(api.execute(function["id"], headers=P1)["id"] for _ in range(4))

    pages = _follow(api, "/v1/executions", {"limit": 2, "sort_key": "id", "sort_dir": "desc"})

    assert pages == [ids[:1:-1], ids[1::-1], []]


def test_next_link_keeps_filters(api, function):
    for _ in range(3):
        api.execute(function["id"], headers=P1)

    first = api.get(
        "/v1/executions", params={"limit": 2, "status": "in:success,failed"}, headers=P1
    )

    link = urlsplit(first.json["next"])
    assert link.path == "/v1/executions"
    assert "status=in%3Asuccess%2Cfailed" in link.query
    assert f"marker={first.json['executions'][-1]['id']}" in link.query


def test_no_next_link_on_a_short_page(api, function):
    api.execute(function["id"], headers=P1)

    listed = api.get("/v1/executions", params={"limit": 5}, headers=P1)

    assert "next" not in listed.json


def test_other_project_does_not_see_executions(api, function):
    done = api.execute(function["id"], headers=P1)

    assert api.get("/v1/executions", headers=P2).json["executions"] == []
    assert api.get(f"/v1/executions/{done['id']}/log", headers=P2).status_code == 404
