"""The policy defaults: what members, readers and admins may do."""

from __future__ import annotations

import pytest
from oslo_policy import opts as oslo_opts

from qinling import conf as qconf
from qinling import exceptions, policies
from qinling.api import policy
from qinling.context import RequestContext

ADMIN_ONLY = {
    "runtime:create",
    "runtime:update",
    "runtime:delete",
    "runtime_pool:get_all",
    "function:detach",
    "function:scale_up",
    "function:scale_down",
    "function_worker:get_all",
    "function_version:detach",
    "function_version:scale_up",
    "function_version:scale_down",
}
RESOURCES = ("function", "function_alias", "execution", "job", "webhook")


@pytest.fixture(scope="module")
def enforcer(tmp_path_factory) -> policy.Enforcer:
    return policy.Enforcer(with_policy_file(str(tmp_path_factory.mktemp("p") / "none.yaml")))


def with_policy_file(path: str):
    # set_override, not oslo_opts.set_defaults: the latter changes the shared
    # option objects' defaults for every later test in the process.
    conf = qconf.new_config([])
    for group, options in oslo_opts.list_opts():
        conf.register_opts(options, group=group)
    conf.set_override("policy_file", path, group="oslo_policy")
    return conf


def who(*roles: str) -> RequestContext:
    return RequestContext(project_id="p1", user_id="u1", roles=roles)


def rule_names() -> list[str]:
    return [r.name for r in policies.list_rules()]


def test_rule_names_are_unique_and_documented():
    rules = policies.list_rules()
    assert len(rule_names()) == len(set(rule_names()))
    for rule in rules:
        assert rule.description.strip(), rule.name
        if ":" in rule.name:
            assert rule.operations, rule.name
            assert rule.scope_types == ["project"], rule.name


def test_every_resource_has_its_crud_rules():
    names = set(rule_names())
    for resource in RESOURCES:
        for op in ("create", "get", "get_all", "delete", "get_all:all_projects"):
            assert f"{resource}:{op}" in names
    assert {"runtime:get", "runtime:get_all", "function_version:get_all"} <= names


@pytest.mark.parametrize("action", sorted(ADMIN_ONLY))
def test_admin_only_actions(enforcer, action):
    assert enforcer.allows(who("admin", "member", "reader"), action)
    assert not enforcer.allows(who("member", "reader"), action)
    with pytest.raises(exceptions.Forbidden, match="Only admins"):
        enforcer.enforce(who("member"), action)


@pytest.mark.parametrize("resource", RESOURCES)
def test_listing_every_project_is_for_admins(enforcer, resource):
    assert enforcer.allows(who("admin"), f"{resource}:get_all:all_projects")
    assert not enforcer.allows(who("member", "reader"), f"{resource}:get_all:all_projects")


@pytest.mark.parametrize(
    "action",
    sorted(n for n in rule_names() if ":" in n and n not in ADMIN_ONLY and "all_projects" not in n),
)
def test_members_may_do_the_rest(enforcer, action):
    assert enforcer.allows(who("member"), action)


def test_readers_read_but_do_not_write(enforcer):
    reader = who("reader")
    assert enforcer.allows(reader, "function:get")
    assert enforcer.allows(reader, "execution:get_all")
    assert not enforcer.allows(reader, "function:create")
    with pytest.raises(exceptions.Forbidden, match="policy does not allow 'job:delete'"):
        enforcer.enforce(reader, "job:delete")


def test_no_role_may_do_nothing(enforcer):
    assert not enforcer.allows(who(), "function:get_all")
    assert not enforcer.is_admin(who("member"))
    assert enforcer.is_admin(who("admin"))


def test_an_operator_policy_file_overrides_a_default(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text('"function:create": "role:admin"\n"runtime:create": "role:member"\n')
    custom = policy.Enforcer(with_policy_file(str(path)))
    assert not custom.allows(who("member"), "function:create")
    assert custom.allows(who("member"), "runtime:create")


def test_an_unknown_action_is_a_bug_not_a_refusal(enforcer):
    from oslo_policy import policy as oslo_policy

    with pytest.raises(oslo_policy.PolicyNotRegistered):
        enforcer.allows(who("admin"), "function:fly")


def test_policy_sample_is_current():
    import os

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    with open(os.path.join(root, "etc", "qinling", "policy.yaml.sample")) as sample:
        text = sample.read()
    for name in rule_names():
        assert f'#"{name}":' in text, f"{name}: regenerate etc/qinling/policy.yaml.sample"
