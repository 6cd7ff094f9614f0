"""Options of Keystone trusts and function credentials ([keystone])."""

from __future__ import annotations

from oslo_config import cfg

GROUP = "keystone"

OPTS = [
    cfg.StrOpt(
        "service_credentials_section",
        default="keystone_authtoken",
        help="Config group holding the keystoneauth1 credentials of the "
        "Qinling service user (auth_type = password, auth_url, username, "
        "password, user_domain_name, project_name, project_domain_name). "
        "Used only with auth_strategy = keystone: every function's owner "
        "trusts this user, and the engine uses the trust to get a token "
        "of the owner for each execution. The password never reaches a "
        "function.",
    ),
    cfg.URIOpt(
        "function_auth_url",
        help="Keystone URL handed to functions in their context ('auth_url'), "
        "for when functions reach Keystone by another address than the "
        "service does. Unset: the auth_url of the service credentials.",
    ),
    cfg.IntOpt(
        "token_refresh_margin",
        default=300,
        min=0,
        help="Seconds before its expiry that a cached trust token of a "
        "function owner is replaced by a new one. A function always gets "
        "a token valid for at least this long.",
    ),
]
