from __future__ import annotations

from oslo_config import cfg

GROUP = "DEFAULT"

OPTS = [
    cfg.BoolOpt("debug", default=False, help="Log at DEBUG level."),
    cfg.StrOpt(
        "auth_strategy",
        default="noauth",
        choices=[
            (
                "noauth",
                "No authentication: the project comes from the X-Project-Id "
                "header and admin from X-Roles. For development and single-user hosts.",
            ),
            (
                "keystone",
                "Tokens are validated by keystonemiddleware, configured in [keystone_authtoken].",
            ),
        ],
        help="How API requests are authenticated.",
    ),
    cfg.StrOpt(
        "state_dir",
        default="/var/lib/qinling",
        help="Directory for the service's own state (packages by default, "
        "the SQLite database of the embedded default).",
    ),
]
