"""Every URL of the v1 API, in one list."""

from __future__ import annotations

from typing import Any

from qinling.api.deps import Deps
from qinling.api.v1 import (
    aliases,
    executions,
    functions,
    jobs,
    runtimes,
    versions,
    webhooks,
)

FUNCTION = "/v1/functions/{function_id}"
VERSION = FUNCTION + "/versions/{version}"


def routes(deps: Deps) -> list[tuple[str, Any]]:
    return [
        ("/v1/runtimes", runtimes.Runtimes(deps)),
        ("/v1/runtimes/{runtime_id}", runtimes.Runtime(deps)),
        ("/v1/runtimes/{runtime_id}/pool", runtimes.RuntimePool(deps)),
        ("/v1/functions", functions.Functions(deps)),
        (FUNCTION, functions.Function(deps)),
        (FUNCTION + "/detach", functions.FunctionAction(deps, "detach")),
        (FUNCTION + "/scale_up", functions.FunctionAction(deps, "scale_up")),
        (FUNCTION + "/scale_down", functions.FunctionAction(deps, "scale_down")),
        (FUNCTION + "/workers", functions.FunctionWorkers(deps)),
        (FUNCTION + "/versions", versions.Versions(deps)),
        (VERSION, versions.Version(deps)),
        (VERSION + "/detach", functions.FunctionAction(deps, "detach", versioned=True)),
        (VERSION + "/scale_up", functions.FunctionAction(deps, "scale_up", versioned=True)),
        (VERSION + "/scale_down", functions.FunctionAction(deps, "scale_down", versioned=True)),
        ("/v1/aliases", aliases.Aliases(deps)),
        ("/v1/aliases/{name}", aliases.Alias(deps)),
        ("/v1/executions", executions.Executions(deps)),
        ("/v1/executions/{execution_id}", executions.Execution(deps)),
        ("/v1/executions/{execution_id}/log", executions.ExecutionLog(deps)),
        ("/v1/jobs", jobs.Jobs(deps)),
        ("/v1/jobs/{job_id}", jobs.Job(deps)),
        ("/v1/webhooks", webhooks.Webhooks(deps)),
        ("/v1/webhooks/{webhook_id}", webhooks.Webhook(deps)),
        ("/v1/webhooks/{webhook_id}/invoke", webhooks.WebhookInvoke(deps)),
    ]
