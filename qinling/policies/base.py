"""Rules the resource rules are written in terms of.

Operators change who may do what by overriding these few rules, or any
single operation, in ``policy.yaml``.
"""

from __future__ import annotations

from oslo_policy import policy

ADMIN = "rule:context_is_admin"
PROJECT_MEMBER = "rule:project_member"
PROJECT_READER = "rule:project_reader"
SCOPE = ["project"]

rules = [
    policy.RuleDefault(
        "context_is_admin",
        "role:admin",
        description="Who is a cloud admin: may manage runtimes, workers and "
        "scaling, and list every project's resources with all_projects.",
    ),
    policy.RuleDefault(
        "project_member",
        "role:member or role:admin",
        description="Who may create, change and delete resources of their "
        "project. Resources of other projects are never visible to them.",
    ),
    policy.RuleDefault(
        "project_reader",
        "role:reader or role:member or role:admin",
        description="Who may read resources of their project.",
    ),
]


def crud(
    resource: str,
    path: str,
    *,
    ops: tuple[str, ...] = ("create", "get", "get_all", "update", "delete"),
    collection: str | None = None,
    writers: str = PROJECT_MEMBER,
    readers: str = PROJECT_READER,
    label: str | None = None,
) -> list[policy.DocumentedRuleDefault]:
    """The usual five rules of a collection at ``path`` (``collection`` for lists)."""
    collection = collection or path.rsplit("/", 1)[0]
    label = label or resource.replace("_", " ")
    table = {
        "create": (writers, f"Create a {label}.", "POST", collection),
        "get": (readers, f"Show a {label}.", "GET", path),
        "get_all": (readers, f"List {label}s of the project.", "GET", collection),
        "update": (writers, f"Update a {label}.", "PUT", path),
        "delete": (writers, f"Delete a {label}.", "DELETE", path),
    }
    return [
        policy.DocumentedRuleDefault(
            name=f"{resource}:{op}",
            check_str=table[op][0],
            description=table[op][1],
            operations=[{"method": table[op][2], "path": table[op][3]}],
            scope_types=SCOPE,
        )
        for op in ops
    ]


def all_projects(resource: str, collection: str) -> policy.DocumentedRuleDefault:
    return policy.DocumentedRuleDefault(
        name=f"{resource}:get_all:all_projects",
        check_str=ADMIN,
        description=f"List {resource.replace('_', ' ')}s of every project "
        "(all_projects=true) or of another project (project_id=...).",
        operations=[{"method": "GET", "path": f"{collection}?all_projects=true"}],
        scope_types=SCOPE,
    )


def single(name: str, check: str, description: str, method: str, path: str):
    return policy.DocumentedRuleDefault(
        name=name,
        check_str=check,
        description=description,
        operations=[{"method": method, "path": path}],
        scope_types=SCOPE,
    )
