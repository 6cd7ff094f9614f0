"""Schemathesis against the API's own OpenAPI document: no input gets a 5xx.

In process, on the WSGI app (fake driver, SQLite). The number of examples
per operation is ``QINLING_FUZZ_EXAMPLES`` (default 20, which keeps this
file near a minute); set it higher for a long run, e.g.
``QINLING_FUZZ_EXAMPLES=400 pytest -s tests/functional/faults/test_fuzz_api.py``,
which prints how many requests were sent.
"""

from __future__ import annotations

import collections
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.generation import GenerationMode

from qinling import bootstrap
from qinling import conf as qconf
from tests.unit.api.conftest import P1, Api, make_zip

EXAMPLES = int(os.environ.get("QINLING_FUZZ_EXAMPLES", "20"))
SENT: collections.Counter = collections.Counter()


def _stack(state_dir: str):
    conf = qconf.new_config([])
    conf.set_override("state_dir", state_dir)
    conf.set_override("orchestrator", "fake", group="engine")
    conf.set_override("max_package_size", 64 * 1024, group="storage")
    return bootstrap.all_in_one(conf), conf


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    import falcon.testing

    parts, conf = _stack(str(tmp_path_factory.mktemp("fuzz")))
    # Some real rows, so that generated ids sometimes meet existing resources.
    api = Api(falcon.testing.TestClient(parts.app), conf)
    runtime = api.create_runtime(name="python3")
    api.create_function(runtime["id"], name="hello", headers=P1, package=make_zip())
    yield parts.app
    parts.close()
    if SENT:
        print(f"\nschemathesis: {sum(SENT.values())} requests; by status: {dict(SENT)}")


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/v1/openapi.json", app)


def _operations():
    schema = schemathesis.openapi.from_dict(_document())
    return sorted(r.ok().label for r in schema.get_all_operations())


def _document() -> dict:
    import shutil
    import tempfile

    import falcon.testing

    state_dir = tempfile.mkdtemp(prefix="qinling-openapi-")
    parts, _ = _stack(state_dir)
    try:
        return falcon.testing.TestClient(parts.app).simulate_get("/v1/openapi.json").json
    finally:
        parts.close()
        shutil.rmtree(state_dir, ignore_errors=True)


@pytest.mark.parametrize("mode", list(GenerationMode), ids=str)
@pytest.mark.parametrize("label", _operations())
def test_no_input_makes_the_api_fail(api_schema, label, mode):
    """Valid and invalid requests to one operation: never a 5xx."""
    operation = api_schema.find_operation_by_label(label)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=EXAMPLES <= 20,
        database=None,
    )
    def call(case):
        response = case.call()
        SENT[response.status_code] += 1
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} -> {response.status_code}: "
            f"{response.text[:500]}\n{case.as_curl_command()}"
        )

    try:
        call()
    except Unsatisfiable:
        # Only for negative mode: every input of this operation is valid
        # (a free-form path parameter), so there is no invalid one to send.
        assert mode is GenerationMode.NEGATIVE
