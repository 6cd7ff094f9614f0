"""oslo.policy rules of the API, as documented defaults, one module per resource.

``list_rules`` feeds the Enforcer and ``oslopolicy-sample-generator``
(entry point ``oslo.policy.policies = qinling``).
"""

from __future__ import annotations

import itertools

from qinling.policies import (
    base,
    execution,
    function,
    function_alias,
    function_version,
    job,
    runtime,
    webhook,
)

_MODULES = (base, runtime, function, function_version, function_alias, execution, job, webhook)


def list_rules() -> list:
    return list(itertools.chain.from_iterable(module.rules for module in _MODULES))
