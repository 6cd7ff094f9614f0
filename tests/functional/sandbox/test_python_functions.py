"""Python functions in real sandboxes: calling convention, results, logs."""

from __future__ import annotations

from tests.functional.sandbox.conftest import execute, requires_isolation

pytestmark = requires_isolation

ECHO = """
def main(**kwargs):
    return kwargs
"""


def test_object_input_becomes_keyword_arguments(driver, function):
    spec = function(
        """
        def main(name, greeting="hello"):
            return f"{greeting}, {name}"
        """
    )
    result = execute(driver, spec, {"name": "qinling"})
    assert result.success, result
    assert result.output == "hello, qinling"
    assert result.cold_start and result.init_duration is not None


def test_other_input_is_one_positional_argument(driver, function):
    spec = function(
        """
        def main(*args):
            return list(args)
        """
    )
    assert execute(driver, spec, [1, 2]).output == [[1, 2]]
    assert execute(driver, spec, "text").output == ["text"]
    assert execute(driver, spec, None).output == []


def test_context_is_passed_when_the_function_accepts_it(driver, function):
    spec = function(
        """
        def main(context, x):
            return {"context": context, "x": x}
        """
    )
    result = execute(driver, spec, {"x": 1}, project_id="p1")
    assert result.output == {"context": {"project_id": "p1"}, "x": 1}


def test_context_reaches_var_keyword_functions(driver, function):
    result = execute(driver, function(ECHO), {"a": 1}, project_id="p1")
    assert result.output == {"a": 1, "context": {"project_id": "p1"}}


def test_context_is_not_forced_on_functions_without_it(driver, function):
    spec = function(
        """
        def main(a):
            return a
        """
    )
    assert execute(driver, spec, {"a": 5}, project_id="p1").output == 5


def test_entry_names_module_and_function(driver, function):
    spec = function(
        {
            "pkg/__init__.py": "",
            "pkg/handlers.py": "def handle():\n    return 'from the package'\n",
        },
        entry="pkg.handlers.handle",
    )
    assert execute(driver, spec).output == "from the package"


def test_exception_fails_with_type_and_message_and_traceback_in_logs(driver, function):
    spec = function(
        """
        def main():
            raise ValueError("bad input")
        """
    )
    result = execute(driver, spec)
    assert not result.success
    assert result.platform_error is None
    assert result.output == "ValueError: bad input"
    assert "Traceback" in result.logs and 'raise ValueError("bad input")' in result.logs


def test_stdout_stderr_and_child_processes_become_logs(driver, function):
    spec = function(
        """
        import subprocess, sys

        def main():
            print("to stdout")
            print("to stderr", file=sys.stderr)
            subprocess.run(["echo", "from a child"], check=True)
            return "done"
        """
    )
    result = execute(driver, spec)
    assert result.success, result
    for line in ("to stdout", "to stderr", "from a child"):
        assert line in result.logs
    assert "to stdout" not in execute(driver, spec).logs.replace("to stdout", "", 1)


def test_non_json_results_are_converted_to_text(driver, function):
    spec = function(
        """
        class Thing:
            def __str__(self):
                return "a thing"

        def main():
            return Thing()
        """
    )
    assert execute(driver, spec).output == "a thing"


def test_a_function_that_cannot_load_fails_clearly(driver, function):
    spec = function("import missing_dependency\n\ndef main():\n    return 1\n")
    result = execute(driver, spec)
    assert not result.success
    assert "Failed to load function 'main.main'" in result.output
    assert "missing_dependency" in result.output
    assert "Traceback" in result.logs


def test_output_and_logs_are_capped_with_a_note(config, function):
    from qinling.orchestrator.local import LocalOrchestrator
    from tests.functional.sandbox.conftest import PYTHON

    config.set_override("max_output_size", 2048, "sandbox")
    config.set_override("max_log_size", 1024, "sandbox")
    driver = LocalOrchestrator(config)
    driver.start()
    try:
        driver.create_pool(PYTHON)
        spec = function(
            """
            def main():
                print("x" * 5000)
                return "y" * 5000
            """
        )
        result = execute(driver, spec)
    finally:
        driver.stop()
    assert result.success
    assert result.output.startswith("y" * 2048)
    assert "[output truncated: 5000 bytes, the limit is 2048 bytes]" in result.output
    assert result.logs.startswith("x" * 1024)
    assert "[logs truncated: 5001 bytes written, the limit is 1024 bytes]" in result.logs


def test_environment_is_the_functions_own(driver, function):
    spec = function(
        """
        import os

        def main():
            return dict(os.environ)
        """,
        environment={"GREETING": "hi"},
    )
    env = execute(driver, spec).output
    assert env["GREETING"] == "hi"
    assert env["HOME"] == "/tmp"
    assert not [name for name in env if name.startswith(("OS_", "QINLING"))]
