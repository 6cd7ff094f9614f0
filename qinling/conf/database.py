from __future__ import annotations

from oslo_config import cfg

GROUP = "database"

OPTS = [
    cfg.StrOpt(
        "connection",
        secret=True,
        help="SQLAlchemy URL of the database, e.g. "
        "postgresql+psycopg2://user:pw@host/qinling or "
        "mysql+pymysql://user:pw@host/qinling. Unset: a SQLite file "
        "'qinling.sqlite' in [DEFAULT] state_dir (WAL mode).",
    ),
    cfg.IntOpt("max_pool_size", default=20, min=1, help="Connections kept open per process."),
    cfg.IntOpt(
        "max_overflow", default=20, min=0, help="Connections opened beyond the pool under load."
    ),
    cfg.IntOpt("pool_timeout", default=10, min=1, help="Seconds to wait for a free connection."),
    cfg.BoolOpt("connection_debug", default=False, help="Log every SQL statement."),
]
