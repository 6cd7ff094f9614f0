"""What crosses RPC and the data socket comes out as it went in."""

from __future__ import annotations

import json

from qinling.context import RequestContext
from qinling.engine import specs
from qinling.orchestrator import base


def _over_the_wire(fields: dict) -> dict:
    return json.loads(json.dumps(fields))


def test_a_function_spec_survives_the_wire():
    spec = base.FunctionSpec(
        function_id="f1",
        version=3,
        runtime=base.RuntimeSpec(id="r1", image="python3", trusted=False),
        package_path="/var/lib/qinling/packages/ab/cd",
        package_digest="abcd",
        entry="hello.main",
        memory_size=64 * 1024 * 1024,
        cpu=250,
        timeout=7,
        environment={"GREETING": "hi"},
        concurrency=4,
        project_id="p1",
    )

    assert specs.spec_from_wire(_over_the_wire(specs.spec_to_wire(spec))) == spec


def test_a_request_and_a_result_survive_the_wire():
    request = base.ExecutionRequest(
        "e1", {"name": "x", "items": [1, 2, {"deep": True}]}, {"execution_id": "e1"}
    )
    result = base.ExecutionResult(
        success=False,
        output={"error": "boom"},
        duration=0.25,
        logs="line\n",
        cold_start=True,
        init_duration=0.004,
        memory_peak=1 << 20,
        platform_error=None,
        worker_name="w1",
    )

    wired_request = _over_the_wire(specs.request_to_wire(request))
    wired_result = _over_the_wire(specs.result_to_wire(result))

    assert base.ExecutionRequest(**wired_request) == request
    assert base.ExecutionResult(**wired_result) == result


def test_a_request_context_survives_rpc():
    ctx = RequestContext(
        project_id="p1",
        user_id="u1",
        roles=("member", "reader"),
        is_admin=False,
        auth_token="t",
        trust_id="tr",
    )

    assert RequestContext.from_dict(_over_the_wire(ctx.to_dict())) == ctx
