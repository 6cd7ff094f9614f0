"""Every option of the service, registered in one place.

Each module here owns one group and exposes ``GROUP`` and ``OPTS``.
``register_opts`` is the only place options get registered; ``list_opts``
feeds ``oslo-config-generator`` (see etc/qinling/qinling-config-generator.conf).
"""

from __future__ import annotations

from oslo_config import cfg

from qinling.conf import (
    api,
    database,
    default,
    engine,
    keystone,
    resource_limits,
    sandbox,
    storage,
)

_MODULES = (default, api, database, engine, storage, resource_limits, sandbox, keystone)


def register_opts(conf: cfg.ConfigOpts) -> None:
    for module in _MODULES:
        group = None if module.GROUP == "DEFAULT" else module.GROUP
        conf.register_opts(module.OPTS, group=group)


def list_opts() -> list[tuple[str, list[cfg.Opt]]]:
    return [(module.GROUP, list(module.OPTS)) for module in _MODULES]


def new_config(
    args: list[str] | None = None, *, default_files: list[str] | None = None
) -> cfg.ConfigOpts:
    """A fresh, registered ConfigOpts parsed from ``args``.

    Services and tests each build their own; nothing reads a global CONF.
    """
    conf = cfg.ConfigOpts()
    register_opts(conf)
    conf(args=args or [], project="qinling", default_config_files=default_files)
    return conf
