"""The Qinling service user's Keystone credentials, loaded with keystoneauth1.

The API (trust creation) and the engine (trust tokens) both use them; the
group they are read from is ``[keystone] service_credentials_section``.
"""

from __future__ import annotations

from keystoneauth1 import loading, session
from keystoneauth1.identity import base as identity_base

from qinling import exceptions

# Scope options a trust replaces: a token is scoped to a trust or a project.
_PROJECT_SCOPE = (
    "project_id",
    "project_name",
    "project_domain_id",
    "project_domain_name",
    "domain_id",
    "domain_name",
    "system_scope",
)


def load(conf, **overrides) -> identity_base.BaseIdentityPlugin:
    group = conf.keystone.service_credentials_section
    loading.register_auth_conf_options(conf, group)
    auth = loading.load_auth_from_conf_options(conf, group, **overrides)
    if auth is None:
        raise exceptions.ServiceUnavailable(
            f"auth_strategy = keystone needs the service user's credentials in [{group}] "
            "(auth_type = password, auth_url, username, password, ...)."
        )
    return auth


def load_for_trust(conf, trust_id: str) -> identity_base.BaseIdentityPlugin:
    """The service user's password plugin, scoped to ``trust_id`` instead of its project."""
    return load(conf, trust_id=trust_id, **dict.fromkeys(_PROJECT_SCOPE))


def new_session(auth=None) -> session.Session:
    return session.Session(auth=auth, timeout=30)


def identity_v3_url(auth) -> str:
    url = auth.auth_url.rstrip("/")
    return url if url.endswith("/v3") else url + "/v3"
