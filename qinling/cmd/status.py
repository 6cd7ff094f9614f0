"""``qinling-status upgrade check``: what to fix before or after an upgrade."""

from __future__ import annotations

import os
import sys

from oslo_config import cfg
from oslo_upgradecheck import upgradecheck

from qinling import conf as qconf


class Checks(upgradecheck.UpgradeCommands):
    def __init__(self, conf: cfg.ConfigOpts) -> None:
        self._conf = conf

    def _check_schema(self) -> upgradecheck.Result:
        from qinling.db import migration
        from qinling.db.session import default_url

        url = self._conf.database.connection or default_url(self._conf.state_dir)
        try:
            current, head = migration.current(url), migration.head()
        except Exception as err:  # any failure here is the finding itself
            return upgradecheck.Result(
                upgradecheck.Code.FAILURE, f"Cannot read the database schema version: {err}"
            )
        if current != head:
            return upgradecheck.Result(
                upgradecheck.Code.FAILURE,
                f"The database schema is at {current or 'nothing'}, the code needs {head}: "
                "run 'qinling-db-manage upgrade'.",
            )
        return upgradecheck.Result(upgradecheck.Code.SUCCESS)

    def _check_package_store(self) -> upgradecheck.Result:
        root = self._conf.storage.file_system_dir or os.path.join(self._conf.state_dir, "packages")
        if os.path.isdir(root) and not os.access(root, os.W_OK):
            return upgradecheck.Result(
                upgradecheck.Code.FAILURE, f"The package store {root} is not writable."
            )
        return upgradecheck.Result(upgradecheck.Code.SUCCESS)

    def _check_auth(self) -> upgradecheck.Result:
        if self._conf.auth_strategy == "noauth":
            return upgradecheck.Result(
                upgradecheck.Code.WARNING,
                "auth_strategy is noauth: anyone who reaches the API acts as any project. "
                "Use keystone on a shared cloud.",
            )
        return upgradecheck.Result(upgradecheck.Code.SUCCESS)

    # oslo.upgradecheck calls each as func(self) or func(self, **kwargs).
    _upgrade_checks = (
        ("Database schema", _check_schema),
        ("Package store", _check_package_store),
        ("Authentication", _check_auth),
    )


def main(argv: list[str] | None = None) -> int:
    conf = cfg.ConfigOpts()
    qconf.register_opts(conf)
    return upgradecheck.main(
        conf,
        project="qinling",
        upgrade_command=Checks(conf),
        argv=sys.argv[1:] if argv is None else argv,
    )


if __name__ == "__main__":
    sys.exit(main())
