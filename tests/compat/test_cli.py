"""Every command of python-qinlingclient 5.1.1, as a user runs it.

Each test creates what it needs on the session's server. Together they run
all 40 ``openstack`` commands the client installs (runtime x5, function x9,
function execution x5, function version x5, function alias x5, function
worker x1, job x5, webhook x5).

    QINLING_COMPAT_ORCHESTRATOR=fake pytest tests/compat    # or =local (the default)
"""

from __future__ import annotations

import datetime
import hashlib
import json
import uuid
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.compat.conftest import Cli

GREETER = """\
def main(name="world", **kwargs):
    print("{greeting} from " + str(name))
    return {{"greeting": "{greeting} " + str(name)}}
"""

ECHO = """\
def main(**kwargs):
    kwargs.pop("context", None)
    return kwargs
"""

FAILING = """\
def main(**kwargs):
    raise ValueError("no luck today")
"""


def greeter(greeting: str) -> str:
    return GREETER.format(greeting=greeting)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def write_package(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def output(execution: dict) -> Any:
    """The function's return value from an execution's ``result``.

    Qinling sends ``result`` as a JSON string ``{"duration": .., "output": ..}``.
    """
    result = execution["result"]
    if isinstance(result, str):
        result = json.loads(result)
    return result["output"]


def not_found(text: str) -> bool:
    text = text.lower()
    return any(words in text for words in ("not found", "no such", "has no version"))


@pytest.fixture
def create_function(cli: Cli, runtime: str, tmp_path: Path):
    """Create a function from ``source`` (module ``main``) with ``--package``."""

    def create(source: str = greeter("hello"), *extra: str) -> dict:
        name = unique("fn")
        package = write_package(tmp_path / f"{name}.zip", {"main.py": source})
        return cli.json(
            "function", "create", "--runtime", runtime, "--name", name,
            "--entry", "main.main", "--package", str(package), *extra,
        )  # fmt: skip

    return create


def execute(cli: Cli, *how: str, input: str | None = None) -> dict:
    args = ["function", "execution", "create", *how]
    if input is not None:
        args += ["--input", input]
    return cli.json(*args)


# --- runtimes -----------------------------------------------------------------


def test_runtime_create_show_list_pool_delete(cli: Cli) -> None:
    name = unique("rt")
    created = cli.json(
        "runtime", "create", "python3", "--name", name,
        "--description", "compat runtime", "--private", "--untrusted",
    )  # fmt: skip
    assert created["name"] == name
    assert created["image"] == "python3"
    assert created["description"] == "compat runtime"
    assert created["is_public"] is False
    assert created["trusted"] is False
    assert created["project_id"] == "default"
    assert created["status"] in ("creating", "available")

    shown = cli.wait_runtime(created["id"])
    assert shown["status"] == "available"
    assert shown["name"] == name

    listing, pool = cli.many(
        cli.json, ("runtime", "list"), ("runtime", "pool", "show", created["id"])
    )
    assert [r["Name"] for r in listing if r["Id"] == created["id"]] == [name]
    assert set(pool) == {"name", "capacity"}
    assert pool["capacity"]["total"] >= pool["capacity"]["available"] >= 0

    out = cli.ok("runtime", "delete", created["id"])
    assert f"Request to delete runtime {created['id']} has been accepted." in out
    assert not_found(cli.fails("runtime", "show", created["id"]))


def test_runtime_pool_show(cli: Cli, runtime: str) -> None:
    pool = cli.json("runtime", "pool", "show", runtime)
    assert pool["name"] == runtime
    assert pool["capacity"]["total"] >= pool["capacity"]["available"] >= 0


def test_runtime_with_unknown_image_ends_in_error(cli: Cli) -> None:
    created = cli.json("runtime", "create", "no-such-image/anywhere:1.0", "--name", unique("rt"))
    assert cli.wait_runtime(created["id"])["status"] == "error"
    cli.ok("runtime", "delete", created["id"])


def test_runtime_used_by_a_function_cannot_be_deleted(
    cli: Cli, runtime: str, create_function
) -> None:
    create_function()
    out = cli.fails("runtime", "delete", runtime)
    assert "function" in out.lower(), out
    assert cli.json("runtime", "show", runtime)["status"] == "available"


# --- functions ----------------------------------------------------------------


def test_function_create_show_list_update_delete(cli: Cli, runtime: str, tmp_path: Path) -> None:
    name = unique("fn")
    package = write_package(tmp_path / "pkg.zip", {"main.py": greeter("hello")})
    created = cli.json(
        "function", "create", "--runtime", runtime, "--name", name, "--entry", "main.main",
        "--package", str(package), "--timeout", "7", "--memory-size", str(64 << 20),
    )  # fmt: skip
    assert created["name"] == name
    assert created["runtime_id"] == runtime
    assert created["entry"] == "main.main"
    assert created["timeout"] == 7
    assert created["memory_size"] == 64 << 20
    assert created["project_id"] == "default"
    code = json.loads(created["code"])
    assert code["source"] == "package"
    assert code["md5sum"] == hashlib.md5(package.read_bytes()).hexdigest()

    by_id, by_name, listing = cli.many(
        cli.json, ("function", "show", created["id"]), ("function", "show", name),
        ("function", "list"),
    )  # fmt: skip
    assert by_id == by_name
    assert by_id["id"] == created["id"]
    assert by_id["timeout"] == 7
    assert [f["Name"] for f in listing if f["Id"] == created["id"]] == [name]

    new_name = unique("renamed")
    updated = cli.json(
        "function", "update", created["id"], "--name", new_name,
        "--description", "now described", "--timeout", "9",
    )  # fmt: skip
    assert updated["name"] == new_name
    assert updated["description"] == "now described"
    assert updated["timeout"] == 9
    assert updated["entry"] == "main.main"
    assert cli.json("function", "show", new_name)["description"] == "now described"

    out = cli.ok("function", "delete", new_name)
    assert f"Request to delete function {created['id']} has been accepted." in out
    assert not_found(cli.fails("function", "show", created["id"]))


def test_function_create_refuses_a_package_that_is_not_a_zip(
    cli: Cli, runtime: str, tmp_path: Path
) -> None:
    bogus = tmp_path / "code.zip"
    bogus.write_text("def main():\n    return 1\n")
    name = unique("fn")
    out = cli.fails(
        "function", "create", "--runtime", runtime, "--name", name, "--package", str(bogus)
    )
    assert "is not a valid ZIP file" in out
    assert name not in cli.ok("function", "list", "-f", "value", "-c", "Name")


def test_function_download_returns_the_uploaded_package(
    cli: Cli, create_function, tmp_path: Path
) -> None:
    function = create_function(greeter("hello"))
    target = tmp_path / "downloaded.zip"
    out = cli.ok("function", "download", function["name"], "-o", str(target))
    assert f"Code package downloaded to {target}" in out
    uploaded = tmp_path / f"{function['name']}.zip"
    assert target.read_bytes() == uploaded.read_bytes()


def test_function_update_file_changes_the_code(cli: Cli, runtime: str, tmp_path: Path) -> None:
    module = unique("mod").replace("-", "_")
    source = tmp_path / f"{module}.py"
    source.write_text(greeter("hello"))
    function = cli.json(
        "function", "create", "--runtime", runtime, "--name", unique("fn"),
        "--entry", f"{module}.main", "--file", str(source),
    )  # fmt: skip
    assert output(execute(cli, "--function", function["id"], input="ann")) == {
        "greeting": "hello ann"
    }

    source.write_text(greeter("goodbye"))
    updated = cli.json("function", "update", function["id"], "--file", str(source))
    assert updated["id"] == function["id"]
    assert json.loads(updated["code"])["md5sum"] != json.loads(function["code"])["md5sum"]
    assert output(execute(cli, "--function", function["id"], input="ann")) == {
        "greeting": "goodbye ann"
    }

    target = tmp_path / "now.zip"
    cli.ok("function", "download", function["id"], "-o", str(target))
    with zipfile.ZipFile(target) as archive:
        assert archive.read(f"{module}.py").decode() == greeter("goodbye")


# --- executions ---------------------------------------------------------------


def test_execution_with_json_input(cli: Cli, create_function) -> None:
    function = create_function(greeter("hello"))
    execution = execute(cli, "--function", function["id"], input='{"name": "x"}')
    assert execution["status"] == "success", execution
    assert output(execution) == {"greeting": "hello x"}
    assert execution["function_id"] == function["id"]
    assert execution["function_version"] == 0
    assert execution["sync"] is True

    shown, listing = cli.many(
        cli.json,
        ("function", "execution", "show", execution["id"]),
        ("function", "execution", "list", "--filter", f"function_id={function['id']}"),
    )
    assert shown["status"] == "success"
    assert output(shown) == {"greeting": "hello x"}
    assert [e["Id"] for e in listing] == [execution["id"]]


def test_execution_with_plain_input_by_function_name(cli: Cli, create_function) -> None:
    function = create_function(greeter("hello"))
    execution = execute(cli, "--function", function["name"], input="plain")
    assert execution["status"] == "success", execution
    assert execution["function_id"] == function["id"]
    assert output(execution) == {"greeting": "hello plain"}


def test_execution_async_then_log(cli: Cli, create_function) -> None:
    function = create_function(greeter("hello"))
    started = execute(cli, "--function", function["id"], "--async", input='{"name": "later"}')
    assert started["sync"] is False
    assert started["status"] in ("running", "success")

    done = cli.wait_execution(started["id"])
    assert done["status"] == "success", done
    assert output(done) == {"greeting": "hello later"}
    assert "hello from later" in cli.ok("function", "execution", "log", "show", started["id"])


def test_execution_of_a_function_that_raises_fails(cli: Cli, create_function) -> None:
    function = create_function(FAILING)
    execution = execute(cli, "--function", function["id"])
    assert execution["status"] == "failed", execution
    assert "no luck today" in json.dumps(output(execution))


def test_execution_delete(cli: Cli, create_function) -> None:
    function = create_function(greeter("hello"))
    first, second, third = cli.many(
        lambda *how: execute(cli, *how), *[("--function", function["id"])] * 3
    )

    out = cli.ok("function", "execution", "delete", "--execution", first["id"])
    assert f"Request to delete execution {first['id']} has been accepted." in out
    assert not_found(cli.fails("function", "execution", "show", first["id"]))

    out = cli.ok("function", "execution", "delete", "--function", function["id"])
    assert second["id"] in out and third["id"] in out
    remaining = cli.json(
        "function", "execution", "list", "--filter", f"function_id={function['id']}"
    )
    assert remaining == []


# --- versions and aliases -----------------------------------------------------


def test_version_runs_the_old_code_after_an_update(
    cli: Cli, create_function, tmp_path: Path
) -> None:
    function = create_function(greeter("hello"))
    fid = function["id"]
    version = cli.json("function", "version", "create", fid, "--description", "first")
    assert version["function_id"] == fid
    assert version["version_number"] == 1
    assert version["description"] == "first"

    package = write_package(tmp_path / "v2.zip", {"main.py": greeter("goodbye")})
    cli.json("function", "update", fid, "--package", str(package))

    latest, old = cli.many(
        lambda *how: execute(cli, *how, input="bo"),
        ("--function", fid),
        ("--function", fid, "--function-version", "1"),
    )
    assert output(latest) == {"greeting": "goodbye bo"}
    assert output(old) == {"greeting": "hello bo"}
    assert old["function_version"] == 1

    listing, shown = cli.many(
        cli.json, ("function", "version", "list", fid), ("function", "version", "show", fid, "1")
    )
    assert [(v["Version_number"], v["Description"]) for v in listing] == [(1, "first")]
    assert shown["id"] == version["id"]
    assert shown["version_number"] == 1

    out = cli.ok("function", "version", "detach", fid, "1")
    assert f"Request to detach function {fid}(version 1) has been accepted." in out
    assert output(execute(cli, "--function", fid, "--function-version", "1")) == {
        "greeting": "hello world"
    }

    cli.ok("function", "version", "delete", fid, "1")
    assert not_found(cli.fails("function", "version", "show", fid, "1"))
    assert cli.json("function", "version", "list", fid) == []


@pytest.fixture
def versioned_function(cli: Cli, create_function, tmp_path: Path) -> dict:
    """A function whose version 1 says hello and whose latest says goodbye."""
    function = create_function(greeter("hello"))
    cli.json("function", "version", "create", function["id"])
    package = write_package(tmp_path / "v2.zip", {"main.py": greeter("goodbye")})
    cli.json("function", "update", function["id"], "--package", str(package))
    return function


def test_alias_create_show_list_update_execute_delete(cli: Cli, versioned_function: dict) -> None:
    fid = versioned_function["id"]
    name = unique("alias")
    created = cli.json(
        "function", "alias", "create", name, "--function", fid,
        "--function-version", "1", "--description", "stable",
    )  # fmt: skip
    assert created["name"] == name
    assert created["function_id"] == fid
    assert created["function_version"] == 1
    assert created["description"] == "stable"

    shown, listing = cli.many(
        cli.json, ("function", "alias", "show", name), ("function", "alias", "list")
    )
    assert shown == created
    assert [(a["Function_id"], a["Function_version"]) for a in listing if a["Name"] == name] == [
        (fid, 1)
    ]

    execution = execute(cli, "--function-alias", name, input="al")
    assert execution["status"] == "success", execution
    assert execution["function_alias"] == name
    assert execution["function_id"] == fid
    assert execution["function_version"] == 1
    assert output(execution) == {"greeting": "hello al"}

    updated = cli.json("function", "alias", "update", name, "--description", "still stable")
    assert updated["description"] == "still stable"
    assert updated["function_version"] == 1
    assert updated["function_id"] == fid

    out = cli.fails("function", "version", "delete", fid, "1")
    assert "alias" in out.lower(), out

    out = cli.ok("function", "alias", "delete", name)
    assert f"Request to delete function_alias {name} has been accepted." in out
    assert not_found(cli.fails("function", "alias", "show", name))


def test_alias_update_function_version(cli: Cli, versioned_function: dict) -> None:
    fid = versioned_function["id"]
    name = unique("alias")
    cli.json("function", "alias", "create", name, "--function", fid, "--function-version", "1")

    # The client sends --function-version of `alias update` as a string.
    updated = cli.json("function", "alias", "update", name, "--function-version", "0")
    assert updated["function_version"] == 0
    assert output(execute(cli, "--function-alias", name, input="al")) == {"greeting": "goodbye al"}


def test_alias_update_keeps_the_description_it_is_not_given(cli: Cli, create_function) -> None:
    first, second = create_function(greeter("hello")), create_function(greeter("goodbye"))
    name = unique("alias")
    cli.json(
        "function", "alias", "create", name, "--function", first["id"], "--description", "kept"
    )

    # The client sends every option of `alias update`, those not given as null.
    updated = cli.json("function", "alias", "update", name, "--function", second["id"])
    assert updated["function_id"] == second["id"]
    assert updated["description"] == "kept"
    assert output(execute(cli, "--function-alias", name, input="al")) == {"greeting": "goodbye al"}


# --- workers ------------------------------------------------------------------


def test_workers_scaleup_scaledown_detach(cli: Cli, create_function) -> None:
    function = create_function(greeter("hello"))
    fid = function["id"]
    assert execute(cli, "--function", fid)["status"] == "success"

    def workers() -> list[dict]:
        return cli.json("function", "worker", "list", fid)

    warm = workers()
    assert len(warm) >= 1
    assert {w["Function_id"] for w in warm} == {fid}
    assert all(w["Worker_name"] for w in warm)

    out = cli.ok("function", "scaleup", fid, "--count", "2")
    assert f"Request to scale up function {fid} has been accepted." in out
    scaled_up = workers()
    assert len(scaled_up) == len(warm) + 2
    assert len({w["Worker_name"] for w in scaled_up}) == len(scaled_up)

    out = cli.ok("function", "scaledown", fid)
    assert f"Request to scale down function {fid} has been accepted." in out
    assert len(workers()) == len(scaled_up) - 1

    out = cli.ok("function", "detach", fid)
    assert f"Request to detach function {fid} has been accepted." in out
    assert workers() == []

    assert output(execute(cli, "--function", fid, input="again")) == {"greeting": "hello again"}


# --- jobs ---------------------------------------------------------------------


def _in_an_hour() -> str:
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    return later.strftime("%Y-%m-%d %H:%M")


def create_job(cli: Cli, function_id: str, name: str) -> tuple[dict, str]:
    first = _in_an_hour()
    job = cli.json(
        "job", "create", "--function", function_id, "--name", name,
        "--pattern", "0 * * * *", "--first-execution-time", first,
        "--function-input", '{"name": "cron"}', "--count", "3",
    )  # fmt: skip
    return job, first


def test_job_create_show_list_pause_delete(cli: Cli, create_function) -> None:
    function = create_function(greeter("hello"))
    name = unique("job")
    job, first = create_job(cli, function["id"], name)
    assert job["name"] == name
    assert job["function_id"] == function["id"]
    assert job["function_version"] == 0
    assert job["pattern"] == "0 * * * *"
    assert job["count"] == 3
    assert job["status"] == "running"
    assert json.loads(job["function_input"]) == {"name": "cron"}
    assert job["first_execution_time"].startswith(first)
    assert job["next_execution_time"] >= job["first_execution_time"]

    shown, listing = cli.many(cli.json, ("job", "show", job["id"]), ("job", "list"))
    assert shown["id"] == job["id"]
    assert shown["pattern"] == "0 * * * *"
    assert [j["Name"] for j in listing if j["Id"] == job["id"]] == [name]

    paused = cli.json("job", "update", job["id"], "--status", "paused")
    assert paused["status"] == "paused"
    assert cli.json("job", "show", job["id"])["status"] == "paused"

    out = cli.ok("job", "delete", job["id"])
    assert f"Request to delete job {job['id']} has been accepted." in out
    assert not_found(cli.fails("job", "show", job["id"]))


def test_job_update_keeps_what_it_is_not_given(cli: Cli, create_function) -> None:
    function = create_function(greeter("hello"))
    name = unique("job")
    job, _ = create_job(cli, function["id"], name)

    # The client sends every option of `job update`, those not given as null.
    cli.json("job", "update", job["id"], "--status", "paused")
    shown = cli.json("job", "show", job["id"])
    assert shown["status"] == "paused"
    assert shown["name"] == name
    assert shown["pattern"] == "0 * * * *"
    assert json.loads(shown["function_input"]) == {"name": "cron"}


def test_job_update_name_and_pattern(cli: Cli, create_function) -> None:
    function = create_function(greeter("hello"))
    job, _ = create_job(cli, function["id"], unique("job"))

    new_name = unique("job")
    updated = cli.json("job", "update", job["id"], "--name", new_name, "--pattern", "*/30 * * * *")
    assert updated["name"] == new_name
    assert updated["pattern"] == "*/30 * * * *"
    assert updated["status"] == "running"


def test_one_shot_job_runs_the_function_once(cli: Cli, create_function) -> None:
    function = create_function(greeter("hello"))
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=5)
    job = cli.json(
        "job", "create", "--function", function["id"], "--function-input", '{"name": "timer"}',
        "--first-execution-time", soon.strftime("%Y-%m-%d %H:%M:%S"),
    )  # fmt: skip
    assert job["status"] == "running"
    assert job["count"] == 1

    def fired() -> list | None:
        executions = cli.json(
            "function", "execution", "list", "--filter", f"function_id={function['id']}"
        )
        return executions or None

    (started,) = cli.wait_for(fired, 60, f"job {job['id']} to start an execution")
    assert job["id"] in (started["Description"] or "")
    execution = cli.wait_execution(started["Id"])
    assert execution["status"] == "success", execution
    assert output(execution) == {"greeting": "hello timer"}
    assert cli.json("job", "show", job["id"])["status"] == "done"


# --- webhooks -----------------------------------------------------------------


def invoke(url: str, payload: Any) -> str:
    response = requests.post(url, json=payload, timeout=30)
    assert response.status_code == 202, response.text
    return response.json()["execution_id"]


def test_webhook_create_invoke_show_list_update_delete(cli: Cli, create_function) -> None:
    function = create_function(ECHO)
    webhook = cli.json("webhook", "create", "--function", function["name"], "--description", "hook")
    assert webhook["function_id"] == function["id"]
    assert webhook["function_version"] == 0
    assert webhook["description"] == "hook"
    assert webhook["webhook_url"].startswith(cli.server.url)

    payload = {"name": "hooked", "n": 3, "tags": ["a", "b"]}
    execution = cli.wait_execution(invoke(webhook["webhook_url"], payload))
    assert execution["status"] == "success", execution
    assert execution["function_id"] == function["id"]
    assert json.loads(execution["input"]) == payload
    assert output(execution) == payload

    shown, listing = cli.many(cli.json, ("webhook", "show", webhook["id"]), ("webhook", "list"))
    assert shown == webhook
    assert [w["Webhook_url"] for w in listing if w["Id"] == webhook["id"]] == [
        webhook["webhook_url"]
    ]

    updated = cli.json("webhook", "update", webhook["id"], "--description", "renamed hook")
    assert updated["description"] == "renamed hook"
    assert updated["function_id"] == function["id"]

    out = cli.ok("webhook", "delete", webhook["id"])
    assert f"Request to delete webhook {webhook['id']} has been accepted." in out
    assert not_found(cli.fails("webhook", "show", webhook["id"]))
    assert requests.post(webhook["webhook_url"], json={}, timeout=30).status_code == 404


def test_webhook_update_function_version(cli: Cli, versioned_function: dict) -> None:
    fid = versioned_function["id"]
    webhook = cli.json("webhook", "create", "--function", fid)

    # The client sends --function-version of `webhook update` as a string.
    updated = cli.json("webhook", "update", webhook["id"], "--function-version", "1")
    assert updated["function_version"] == 1
    execution = cli.wait_execution(invoke(webhook["webhook_url"], {"name": "hook"}))
    assert output(execution) == {"greeting": "hello hook"}


def test_webhook_update_keeps_the_description_it_is_not_given(cli: Cli, create_function) -> None:
    first, second = create_function(greeter("hello")), create_function(greeter("goodbye"))
    webhook = cli.json("webhook", "create", "--function", first["id"], "--description", "kept")

    # The client sends every option of `webhook update`, those not given as null.
    updated = cli.json("webhook", "update", webhook["id"], "--function-id", second["id"])
    assert updated["function_id"] == second["id"]
    assert updated["description"] == "kept"
    execution = cli.wait_execution(invoke(webhook["webhook_url"], {"name": "hook"}))
    assert output(execution) == {"greeting": "goodbye hook"}


# --- what users get wrong -----------------------------------------------------


def test_function_in_use_by_an_alias_and_a_webhook_cannot_be_deleted(
    cli: Cli, create_function
) -> None:
    function = create_function(greeter("hello"))
    fid = function["id"]
    alias = unique("alias")
    _, webhook = cli.many(
        cli.json,
        ("function", "alias", "create", alias, "--function", fid),
        ("webhook", "create", "--function", fid),
    )

    out = cli.fails("function", "delete", fid)
    assert "alias" in out.lower() and "webhook" in out.lower(), out
    assert cli.json("function", "show", fid)["id"] == fid

    cli.many(cli.ok, ("function", "alias", "delete", alias), ("webhook", "delete", webhook["id"]))
    cli.ok("function", "delete", fid)
    assert not_found(cli.fails("function", "show", fid))


def test_unknown_ids_are_not_found(cli: Cli, create_function) -> None:
    missing = str(uuid.uuid4())
    fid = create_function()["id"]
    commands = [
        ("runtime", "show", missing),
        ("runtime", "pool", "show", missing),
        ("function", "show", missing),
        ("function", "execution", "show", missing),
        ("function", "execution", "log", "show", missing),
        ("function", "version", "show", fid, "7"),
        ("function", "alias", "show", unique("alias")),
        ("function", "worker", "list", missing),
        ("job", "show", missing),
        ("webhook", "show", missing),
    ]
    outputs = cli.many(cli.fails, *commands)
    wrong = {" ".join(c): o for c, o in zip(commands, outputs, strict=True) if not not_found(o)}
    assert wrong == {}


def test_image_function_that_cannot_run_says_why(cli: Cli) -> None:
    # Functions from container images need an orchestrator that runs images.
    result = cli.run("function", "create", "--image", "docker.io/library/busybox", "-f", "json")
    if result.returncode != 0:
        assert "image" in (result.stdout + result.stderr).lower(), cli.explain(result)
        return
    function = json.loads(result.stdout)
    execution = execute(cli, "--function", function["id"])
    if execution["status"] != "success":
        assert "image" in json.dumps(output(execution)).lower(), execution
