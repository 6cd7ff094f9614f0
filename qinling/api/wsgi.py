"""``qinling.api.wsgi:application`` for uWSGI and mod_wsgi.

Configuration comes from ``QINLING_CONFIG_FILE`` (default
/etc/qinling/qinling.conf); the engine is reached over RPC.
"""

from __future__ import annotations

import os

from qinling import conf as qconf
from qinling import storage
from qinling.api.app import create_app
from qinling.db.session import Database
from qinling.engine.rpcapi import EngineRPCClient


def build_application(config_file: str | None = None):
    path = config_file or os.environ.get("QINLING_CONFIG_FILE", "/etc/qinling/qinling.conf")
    conf = qconf.new_config([], default_files=[path] if os.path.exists(path) else [])
    from qinling import logs

    logs.setup(conf)
    from qinling import bootstrap

    db = Database.from_conf(conf)
    bootstrap.require_schema(db)
    return create_app(conf, db=db, engine=EngineRPCClient(conf), storage=storage.load(conf))


def __getattr__(name: str):
    # Built on first access so that importing this module has no side effects.
    if name == "application":
        global application
        application = build_application()
        return application
    raise AttributeError(name)
