"""Nothing a client can send makes the API answer with a 5xx.

Every request goes to one service that holds one resource of each kind, so
that requests get past the lookups to the code behind them. Each answer must
be a 4xx in JSON whose ``faultstring`` tells the client what to fix.
"""

from __future__ import annotations

import dataclasses
import io
import json
import stat
import zipfile
from typing import Any

import falcon.routing
import jsonschema
import pytest

from qinling.api import openapi, v1
from qinling.api.v1 import aliases, jobs, webhooks
from tests.unit.api.conftest import MAX_BODY_SIZE, MAX_PACKAGE_SIZE, encode_form, make_zip

ROUTES = {path: resource for path, resource in v1.routes(None)}
SERVED = {
    path: {m for m in falcon.routing.map_http_methods(resource) if m != "OPTIONS"}
    for path, resource in ROUTES.items()
}
COLLECTIONS = ("runtimes", "functions", "aliases", "executions", "jobs", "webhooks")
PLACEHOLDERS = (
    "runtime_id",
    "function_id",
    "version",
    "name",
    "execution_id",
    "job_id",
    "webhook_id",
)
FUNCTIONS = "/v1/functions"
FUNCTION = "/v1/functions/{function_id}"
INVOKE = "/v1/webhooks/{webhook_id}/invoke"
NO_BODY = ("/detach",)  # these read no body, so any body is as good as none
UNSET = object()


@dataclasses.dataclass(frozen=True)
class Case:
    method: str
    path: str  # a route template; {placeholders} become the world's ids
    json: Any = UNSET  # sent as application/json; "<function_id>" etc. filled in
    form: dict | None = None  # sent as python-qinlingclient sends forms
    package: bytes | None = None  # with form: makes it multipart
    body: bytes | None = None
    content_type: str | None = None
    query: str = ""
    status: int | None = None  # when only one 4xx is right
    mentions: str | None = None  # what the faultstring must name


def _case(id_: str, *args: Any, **kwargs: Any):
    return pytest.param(Case(*args, **kwargs), id=id_)


# What to send so that only the field under test is wrong ---------------------

JSON_BODIES = {(p, m.upper()): s for (p, m), s in openapi.JSON_BODIES.items()}
FORM_BODIES = {(p, m.upper()): s for (p, m), s in openapi.FORM_BODIES.items()}
VALID_JSON = {
    ("/v1/runtimes", "POST"): {"image": "python3"},
    ("/v1/aliases", "POST"): {"name": "other", "function_id": "<function_id>"},
    ("/v1/executions", "POST"): {"function_id": "<function_id>"},
    ("/v1/jobs", "POST"): {"function_id": "<function_id>", "pattern": "0 * * * *"},
    ("/v1/webhooks", "POST"): {"function_id": "<function_id>"},
    (FUNCTIONS, "POST"): {"code": {"source": "image", "image": "alpine"}},
}
VALID_FORM = {
    (FUNCTIONS, "POST"): {"runtime_id": "<runtime_id>", "code": json.dumps({"source": "package"})},
    (FUNCTION, "PUT"): {"source": "package"},
}
WRONG_VALUES = (None, True, 7, 1.5, "text", [1], {"k": "v"})
# Form fields are strings: these do not become what the schema asks for.
WRONG_FORM_VALUES = {"integer": ("abc", "1.5", ""), "object": ("{broken", "[1]", "7", '"x"')}


def _valid_json(path: str, method: str) -> dict:
    return dict(VALID_JSON.get((path, method), {}))


def _types(prop: dict) -> list[str]:
    types = prop.get("type", [])
    return types if isinstance(types, list) else [types]


def _body_endpoints() -> list[tuple[str, str, dict]]:
    return sorted(
        [(p, m, s) for (p, m), s in (JSON_BODIES | FORM_BODIES).items()], key=lambda e: e[:2]
    )


def malformed_json_cases() -> list:
    bodies = {
        "truncated": b'{"description": ',
        "single-quotes": b"{'description': 'x'}",
        "trailing-garbage": b'{"description": "x"}}',
        "not-utf8": b'{"description": "\xff\xfe"}',
        "nan": b"NaN",
        "list": b"[]",
        "list-of-objects": b'[{"description": "x"}]',
        "string": b'"text"',
        "number": b"42",
        "null": b"null",
        "true": b"true",
    }
    return [
        _case(
            f"{m} {p} {name}",
            m,
            p,
            body=raw,
            content_type="application/json",
            status=400,
        )
        for p, m, _ in _body_endpoints()
        for name, raw in bodies.items()
    ]


# Updates where null means "leave unchanged", as python-qinlingclient sends it.
UNCHANGED_IF_NULL = {
    ("/v1/aliases/{name}", "PUT"): aliases.CLIENT_UPDATE_FIELDS,
    ("/v1/webhooks/{webhook_id}", "PUT"): webhooks.CLIENT_UPDATE_FIELDS,
    ("/v1/jobs/{job_id}", "PUT"): jobs.CLIENT_UPDATE_FIELDS,
}


def wrong_type_cases() -> list:
    cases = []
    for path, method, schema in _body_endpoints():
        for field, prop in schema["properties"].items():
            validator = jsonschema.Draft202012Validator(prop)
            for value in WRONG_VALUES:
                if validator.is_valid(value):
                    continue
                if value is None and field in UNCHANGED_IF_NULL.get((path, method), ()):
                    continue
                body = _valid_json(path, method) | {field: value}
                cases.append(
                    _case(
                        f"{method} {path} {field}={json.dumps(value)}",
                        method,
                        path,
                        json=body,
                        status=400,
                        mentions=field,
                    )
                )
    return cases


def wrong_form_type_cases() -> list:
    cases = []
    for (path, method), schema in FORM_BODIES.items():
        for field, prop in schema["properties"].items():
            kind = next((t for t in _types(prop) if t in WRONG_FORM_VALUES), None)
            for value in WRONG_FORM_VALUES.get(kind, ()):
                if value == "" and "null" in _types(prop):
                    continue  # an empty form field clears a field that may be unset
                form = VALID_FORM[path, method] | {field: value}
                cases.append(
                    _case(
                        f"{method} {path} form {field}={value!r}",
                        method,
                        path,
                        form=form,
                        package=make_zip() if method == "POST" else None,
                        status=400,
                        mentions=field,
                    )
                )
    return cases


def unknown_field_cases() -> list:
    cases = [
        _case(
            f"{m} {p}",
            m,
            p,
            json=_valid_json(p, m) | {"bogus": 1},
            status=400,
            mentions="bogus",
        )
        for p, m, _ in _body_endpoints()
    ]
    cases += [
        _case(
            f"{m} {p} form",
            m,
            p,
            form=VALID_FORM[p, m] | {"bogus": "1"},
            package=make_zip() if m == "POST" else None,
            status=400,
            mentions="bogus",
        )
        for (p, m) in FORM_BODIES
    ]
    return cases


def huge_string_cases() -> list:
    return [
        _case(
            f"{m} {p} {field}",
            m,
            p,
            json=_valid_json(p, m) | {field: "x" * 5000},
            status=400,
            mentions=field,
        )
        for p, m, schema in _body_endpoints()
        for field, prop in schema["properties"].items()
        if "string" in _types(prop) and "maxLength" in prop
    ]


def huge_number_cases() -> list:
    return [
        _case(
            f"{m} {p} {field}={sign}2**70",
            m,
            p,
            json=_valid_json(p, m) | {field: int(f"{sign}1") * 2**70},
            status=400,
            mentions=field,
        )
        for p, m, schema in _body_endpoints()
        for field, prop in schema["properties"].items()
        if "integer" in _types(prop)
        for sign in ("", "-")
    ]


def oversized_body_cases() -> list:
    raw = b'{"description": "' + b"x" * (MAX_BODY_SIZE + 1) + b'"}'
    endpoints = [(p, m) for p, m, _ in _body_endpoints()] + [(INVOKE, "POST")]
    cases = [
        _case(f"{m} {p}", m, p, body=raw, content_type="application/json", status=413)
        for p, m in endpoints
    ]
    form = b"description=" + b"x" * (MAX_BODY_SIZE + 1)
    cases.append(
        _case(
            "PUT function form",
            "PUT",
            FUNCTION,
            body=form,
            content_type="application/x-www-form-urlencoded",
            status=413,
        )
    )
    return cases


def content_type_cases() -> list:
    cases = []
    for path, method, _ in _body_endpoints():
        valid = json.dumps(_valid_json(path, method)).encode()
        for content_type, raw in (
            ("text/plain", valid),
            ("application/xml", b"<function/>"),
            ("application/octet-stream", valid),
        ):
            cases.append(
                _case(
                    f"{method} {path} {content_type}",
                    method,
                    path,
                    body=raw,
                    content_type=content_type,
                    status=415,
                    mentions="application/json",
                )
            )
    for path, method in FORM_BODIES:
        cases.append(
            _case(
                f"{method} {path} multipart without boundary",
                method,
                path,
                body=b"--x\r\n\r\n",
                content_type="multipart/form-data",
                status=400,
                mentions="boundary",
            )
        )
    return cases


# Ids that name nothing ------------------------------------------------------

UNKNOWN_IDS = {
    "uuid": "5f0e1a5e-0000-4000-8000-000000000000",
    "word": "nope",
    "long": "x" * 2000,
    "slash": "a%2Fb",
    "percent": "%2525",
    "unicode": "%E2%98%83-%C3%BC",
    "dots": "..",
    "space": "a%20b",
    "quote": "%27%20OR%201%3D1",
}
UNKNOWN_VERSIONS = {
    "missing": "999",
    "negative": "-1",
    "word": "abc",
    "float": "1.5",
    "huge": "9" * 30,
    "hex": "0x1",
}


def unknown_id_cases() -> list:
    cases = []
    for path, methods in SERVED.items():
        for param in PLACEHOLDERS:
            if "{" + param + "}" not in path:
                continue
            bad_ids = UNKNOWN_VERSIONS if param == "version" else UNKNOWN_IDS
            for name, bad in bad_ids.items():
                concrete = path.replace("{" + param + "}", bad)
                for method in sorted(methods):
                    cases.append(
                        _case(
                            f"{method} {path} {param}={name}",
                            method,
                            concrete,
                            json={} if method in ("POST", "PUT") else UNSET,
                            # A version that is not a number is a 400.
                            status=None if param == "version" else 404,
                        )
                    )
    return cases


def nul_cases() -> list:
    """Text holding NUL, which PostgreSQL can neither store nor compare."""
    cases = [
        _case(
            f"{method} {path} {param}",
            method,
            path.replace("{" + param + "}", "a%00b"),
            json={} if method in ("POST", "PUT") else UNSET,
            status=400,
            mentions="NUL",
        )
        for path, methods in SERVED.items()
        for param in PLACEHOLDERS
        if "{" + param + "}" in path
        for method in sorted(methods)
    ]
    for path, method, schema in _body_endpoints():
        texts = [f for f, p in schema["properties"].items() if "string" in _types(p)]
        if not texts:
            continue
        field = texts[0]
        cases.append(
            _case(
                f"{method} {path} {field}",
                method,
                path,
                json=_valid_json(path, method) | {field: "a\x00b"},
                status=400,
                mentions="NUL",
            )
        )
    executions = ("POST", "/v1/executions")
    for name, value in (("text", "a\x00b"), ("nested", {"k": ["a\x00b"]}), ("key", {"\x00": 1})):
        cases.append(
            _case(
                f"execution input {name}",
                *executions,
                json=_valid_json("/v1/executions", "POST") | {"input": value},
                status=400,
                mentions="NUL",
            )
        )
    cases += [
        _case(f"{c} query", "GET", f"/v1/{c}", query="name=a%00b", status=400, mentions="NUL")
        for c in COLLECTIONS
    ]
    return cases


# List parameters ------------------------------------------------------------

BAD_QUERIES = {
    "unknown-field": "bogus=1",
    "bad-time": "created_at=gt:yesterday",
    "bad-time-in-list": "created_at=in:2020-01-01,never",
    "time-out-of-range": "created_at=gt:9999-12-31T23:59:59-23:59",
    "has-on-time": "created_at=has:2020",
    "limit-zero": "limit=0",
    "limit-negative": "limit=-1",
    "limit-word": "limit=abc",
    "limit-float": "limit=1.5",
    "limit-huge": "limit=" + "9" * 30,
    "limit-twice": "limit=1&limit=2",
    "sort-dir": "sort_dir=sideways",
    "sort-key": "sort_key=bogus",
    "marker-uuid": "marker=5f0e1a5e-0000-4000-8000-000000000000",
    "marker-long": "marker=" + "x" * 2000,
    "marker-nul": "marker=%00",
    "all-projects-maybe": "all_projects=maybe",
    "all-projects-number": "all_projects=2",
}
TYPED_QUERIES = {
    "runtimes": ("is_public=maybe", "trusted=in:true,perhaps"),
    "functions": ("cpu=gt:abc", "count=in:1,x", "memory_size=1e999", "timeout=has:1"),
    "aliases": ("function_version=abc", "function_version=" + "9" * 30),
    "executions": ("sync=maybe", "function_version=lt:x", "cold_start=2", "cold_start=has:x"),
    "jobs": ("next_execution_time=lt:soon",),
    "webhooks": ("function_version=abc", "function_version=nan"),
}


def bad_query_cases() -> list:
    cases = [
        _case(f"{c} {name}", "GET", f"/v1/{c}", query=query, status=400)
        for c in COLLECTIONS
        for name, query in BAD_QUERIES.items()
    ]
    for collection, queries in TYPED_QUERIES.items():
        cases += [
            _case(f"{collection} {q}", "GET", f"/v1/{collection}", query=q, status=400)
            for q in queries
        ]
    cases += [
        _case(f"download={v}", "GET", FUNCTION, query=f"download={v}", status=400)
        for v in ("maybe", "2")
    ]
    return cases


# Values of the right type that still make no sense --------------------------

NONSENSE = [
    ("POST", "/v1/jobs", {"pattern": "0 0 30 2 *"}, "pattern"),
    ("POST", "/v1/jobs", {"pattern": "@reboot"}, "pattern"),
    ("POST", "/v1/jobs", {"first_execution_time": "soon"}, "first_execution_time"),
    ("POST", "/v1/jobs", {"first_execution_time": "2030-13-45T00:00"}, "first_execution_time"),
    ("POST", "/v1/jobs", {"first_execution_time": "9999-12-31T23:59:59-23:59"}, "first_exec"),
    ("POST", "/v1/jobs", {"first_execution_time": "0001-01-01T00:00:00+01:00"}, "first_exec"),
    ("PUT", "/v1/jobs/{job_id}", {"pattern": "0 0 31 4 *"}, "pattern"),
    ("PUT", "/v1/jobs/{job_id}", {"next_execution_time": "later"}, "next_execution_time"),
    ("PUT", "/v1/jobs/{job_id}", {"next_execution_time": "9999-12-31T23:59:59-23:59"}, "next"),
    ("POST", "/v1/aliases", {"name": "a/b"}, "name"),
    ("POST", "/v1/aliases", {"name": ""}, "name"),
    ("POST", "/v1/aliases", {"name": "two words"}, "name"),
    ("POST", "/v1/executions", {"function_alias": "nothing-by-this-name"}, "nothing-by"),
    ("POST", "/v1/executions", {"function_id": None}, "function_id"),
    ("POST", "/v1/webhooks", {"function_id": None}, "function_id"),
    ("POST", "/v1/webhooks", {"secret": "short"}, "secret"),
    ("POST", "/v1/runtimes", {"image": ""}, "image"),
    ("POST", FUNCTIONS, {"code": {"source": "ftp"}}, "source"),
    ("POST", FUNCTIONS, {"code": {"source": "image"}}, "image"),
    ("POST", FUNCTIONS, {"code": {"source": "swift"}}, "swift"),
    ("POST", FUNCTIONS, {"code": {"source": "package"}}, "package"),
    ("POST", FUNCTIONS, {"entry": "not an entry"}, "entry"),
    ("POST", FUNCTIONS, {"environment": {"A": 1}}, "environment"),
    ("POST", FUNCTIONS, {"cpu": 1}, "cpu"),
    ("PUT", FUNCTION, {"runtime_id": "nope"}, "nope"),
    ("PUT", FUNCTION, {"concurrency": 0}, "concurrency"),
    ("POST", FUNCTION + "/scale_up", {"count": 0}, "count"),
    ("POST", FUNCTION + "/scale_down", {"count": 10**6}, "count"),
]


def nonsense_cases() -> list:
    return [
        _case(
            f"{method} {path} {json.dumps(change)}",
            method,
            path,
            json=_valid_json(path, method) | change,
            mentions=mentions,
        )
        for method, path, change, mentions in NONSENSE
    ]


# Function packages ----------------------------------------------------------


def _zip_with(info: zipfile.ZipInfo, data: bytes = b"x = 1\n") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("main.py", "def main():\n    return 1\n")
        archive.writestr(info, data)
    return buffer.getvalue()


def _symlink() -> bytes:
    info = zipfile.ZipInfo("link.py")
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return _zip_with(info, b"/etc/passwd")


def _device() -> bytes:
    info = zipfile.ZipInfo("dev")
    info.external_attr = (stat.S_IFCHR | 0o600) << 16
    return _zip_with(info)


PACKAGES = {
    "not-a-zip": (b"this is not a zip file", 400, "zip"),
    "empty": (b"", 400, "empty"),
    "too-large": (b"x" * (MAX_PACKAGE_SIZE + 1), 413, str(MAX_PACKAGE_SIZE)),
    "parent-dir": (_zip_with(zipfile.ZipInfo("../evil.py")), 400, "outside"),
    "nested-parent-dir": (_zip_with(zipfile.ZipInfo("a/../../evil.py")), 400, "outside"),
    "absolute": (_zip_with(zipfile.ZipInfo("/etc/evil.py")), 400, "absolute"),
    "symlink": (_symlink(), 400, "symbolic link"),
    "device": (_device(), 400, "regular file"),
    "truncated-zip": (make_zip()[:-10], 400, "zip"),
}


def package_cases() -> list:
    cases = []
    for (path, method), form in VALID_FORM.items():
        for name, (package, status, mentions) in PACKAGES.items():
            cases.append(
                _case(
                    f"{method} {path} {name}",
                    method,
                    path,
                    form=form,
                    package=package,
                    status=status,
                    mentions=mentions,
                )
            )
        wrong_md5 = form | {"code": json.dumps({"source": "package", "md5sum": "0" * 32})}
        if method == "PUT":
            wrong_md5 = form | {"md5sum": "0" * 32}
        cases.append(
            _case(
                f"{method} {path} md5 mismatch",
                method,
                path,
                form=wrong_md5,
                package=make_zip(),
                status=400,
                mentions="md5",
            )
        )
    return cases


def _multipart_body(boundary: bytes, *parts: tuple[str, bytes, str | None]) -> bytes:
    """A multipart body from (name, value, filename) parts, built by hand so
    that it can hold what ``requests`` would never send."""
    chunks = []
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        chunks.append(
            b"--%s\r\nContent-Disposition: %s\r\n\r\n%s\r\n"
            % (boundary, disposition.encode(), value)
        )
    return b"".join(chunks) + b"--%s--\r\n" % boundary


def broken_multipart_cases() -> list:
    code = VALID_FORM[FUNCTIONS, "POST"]["code"].encode()
    whole, content_type = encode_form("POST", {"code": code}, make_zip())
    boundary = content_type.split("boundary=")[1].encode()
    bodies = {
        "truncated": (whole[: len(whole) // 2], None),
        "cut-before-end": (whole[:-8], None),
        "no-parts": (_multipart_body(boundary), "code"),
        "garbage": (b"garbage without boundaries", None),
        "field-twice": (
            _multipart_body(boundary, ("code", code, None), ("code", code, None)),
            "more than once",
        ),
        "not-utf8-field": (_multipart_body(boundary, ("name", b"\xff\xfe", None)), "UTF-8"),
        "huge-field": (
            _multipart_body(boundary, ("description", b"x" * 70000, None)),
            "description",
        ),
        "package-twice": (
            _multipart_body(
                boundary,
                ("code", code, None),
                ("package", make_zip(), "a.zip"),
                ("package", make_zip(), "b.zip"),
            ),
            "one package",
        ),
    }
    return [
        _case(
            f"POST functions multipart {name}",
            "POST",
            FUNCTIONS,
            body=raw,
            content_type=content_type,
            status=400,
            mentions=mentions,
        )
        for name, (raw, mentions) in bodies.items()
    ]


# Methods a URL does not serve -----------------------------------------------


def method_cases() -> list:
    return [
        _case(f"{method} {path}", method, path, status=405, mentions=method)
        for path, methods in SERVED.items()
        for method in ("GET", "POST", "PUT", "DELETE", "PATCH")
        if method not in methods
    ]


# The service and how each case is sent --------------------------------------


@pytest.fixture(scope="module")
def world(shared_api) -> dict[str, str]:
    """One resource of each kind, owned by the admin of project default."""
    api = shared_api
    runtime = api.create_runtime()
    function = api.create_function(runtime["id"], name="hello")
    fid = function["id"]
    assert api.post(f"/v1/functions/{fid}/versions").status_code == 201
    assert api.post("/v1/aliases", json={"name": "live", "function_id": fid}).status_code == 201
    execution = api.execute(fid)
    job = api.post("/v1/jobs", json={"function_id": fid, "pattern": "0 * * * *"})
    webhook = api.post("/v1/webhooks", json={"function_id": fid})
    return {
        "runtime_id": runtime["id"],
        "function_id": fid,
        "version": "1",
        "name": "live",
        "execution_id": execution["id"],
        "job_id": job.json["id"],
        "webhook_id": webhook.json["id"],
    }


def _fill(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("<") and value[1:-1] in ids:
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _send(api, case: Case, ids: dict[str, str]):
    path = case.path.format(**ids)
    kwargs: dict[str, Any] = {"query_string": case.query}
    if case.form is not None:
        form = _fill(case.form, ids)
        kwargs["body"], content_type = encode_form(case.method, form, case.package)
        kwargs["headers"] = {"Content-Type": content_type}
    elif case.json is not UNSET:
        kwargs["json"] = _fill(case.json, ids)
    elif case.body is not None:
        kwargs["body"] = case.body
        kwargs["headers"] = {"Content-Type": case.content_type}
    return api.request(case.method, path, **kwargs)


def _assert_explained(answer, case: Case) -> None:
    assert 400 <= answer.status_code < 500, answer.text
    if case.status is not None:
        assert answer.status_code == case.status, answer.text
    assert answer.headers["content-type"].startswith("application/json"), answer.text
    fault = answer.json["faultstring"]
    assert isinstance(fault, str) and fault.strip()
    assert "unexpected error" not in fault.lower()
    assert not fault[:3].isdigit(), f"only a status line: {fault}"
    if case.mentions is not None:
        assert case.mentions.lower() in fault.lower(), fault


ALL_CASES = (
    malformed_json_cases()
    + wrong_type_cases()
    + wrong_form_type_cases()
    + unknown_field_cases()
    + huge_string_cases()
    + huge_number_cases()
    + oversized_body_cases()
    + content_type_cases()
    + unknown_id_cases()
    + nul_cases()
    + bad_query_cases()
    + nonsense_cases()
    + package_cases()
    + broken_multipart_cases()
    + method_cases()
)


@pytest.mark.parametrize("case", ALL_CASES)
def test_client_mistake_is_a_4xx_that_says_what_to_fix(shared_api, world, case):
    answer = _send(shared_api, case, world)

    _assert_explained(answer, case)


def test_no_mistake_changed_or_created_anything(shared_api, world):
    """Runs after the cases above: pytest keeps the order of the file."""
    for path in (
        "/v1/runtimes/{runtime_id}",
        "/v1/functions/{function_id}",
        "/v1/functions/{function_id}/versions/{version}",
        "/v1/aliases/{name}",
        "/v1/executions/{execution_id}",
        "/v1/jobs/{job_id}",
        "/v1/webhooks/{webhook_id}",
    ):
        assert shared_api.get(path.format(**world)).status_code == 200, path
    for collection in COLLECTIONS:
        listed = shared_api.get(f"/v1/{collection}", params={"all_projects": "true"}).json
        [envelope] = listed.values()
        assert len(envelope) == 1, (collection, envelope)
    function = shared_api.get(f"/v1/functions/{world['function_id']}").json
    assert (function["name"], function["latest_version"]) == ("hello", 1)


def test_every_route_is_covered():
    covered = {case.values[0].path for case in ALL_CASES}
    templates = {path for path in ROUTES if any(c == path or _matches(path, c) for c in covered)}

    assert templates == set(ROUTES)


def _matches(template: str, concrete: str) -> bool:
    t_parts, c_parts = template.split("/"), concrete.split("/")
    return len(t_parts) == len(c_parts) and all(
        t == c or t.startswith("{") for t, c in zip(t_parts, c_parts, strict=True)
    )
