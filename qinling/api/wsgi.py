"""``qinling.api.wsgi:application`` for uWSGI and mod_wsgi.

Configuration comes from ``QINLING_CONFIG_FILE`` (default
/etc/qinling/qinling.conf); the engine is reached over RPC, and sync
executions over its data socket when ``[engine] data_socket`` is set, as
for ``qinling-api``.
"""

from __future__ import annotations

import os

from qinling import conf as qconf


def build_application(config_file: str | None = None):
    path = config_file or os.environ.get("QINLING_CONFIG_FILE", "/etc/qinling/qinling.conf")
    conf = qconf.new_config([], default_files=[path] if os.path.exists(path) else [])
    from qinling import logs

    logs.setup(conf)
    from qinling import bootstrap

    app, _close = bootstrap.api_only(conf)  # the server process's life is the app's
    return app


def __getattr__(name: str):
    # Built on first access so that importing this module has no side effects.
    if name == "application":
        global application
        application = build_application()
        return application
    raise AttributeError(name)
