"""``qinling-db-manage``: create and migrate Qinling's database schema.

    qinling-db-manage [--config-file F] upgrade [REVISION]
    qinling-db-manage [--config-file F] downgrade REVISION
    qinling-db-manage [--config-file F] current
    qinling-db-manage [--config-file F] revision -m MESSAGE [--autogenerate]

The database is ``[database] connection``, or the SQLite file of the
embedded default in ``[DEFAULT] state_dir``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

import sqlalchemy as sa
from oslo_config import cfg

from qinling import conf as qinling_conf
from qinling.db import migration, session


def _upgrade(url: str, args: Any) -> None:
    migration.upgrade(url, args.revision)


def _downgrade(url: str, args: Any) -> None:
    migration.downgrade(url, args.revision)


def _current(url: str, _args: Any) -> None:
    revision = migration.current(url)
    if revision is None:
        print("base (empty database)")
    else:
        print(f"{revision} (head)" if revision == migration.head() else revision)


def _revision(url: str, args: Any) -> None:
    script = migration.revision(url, args.message, autogenerate=args.autogenerate)
    if script is not None:
        print(script.path)


def _add_commands(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("upgrade", help="Migrate the schema up to REVISION.")
    parser.add_argument("revision", nargs="?", default="head", help="Default: head.")
    parser.set_defaults(func=_upgrade)

    parser = subparsers.add_parser("downgrade", help="Migrate the schema down to REVISION.")
    parser.add_argument("revision", help="A revision id, or 'base' to drop every table.")
    parser.set_defaults(func=_downgrade)

    parser = subparsers.add_parser("current", help="Show the revision the database is at.")
    parser.set_defaults(func=_current)

    parser = subparsers.add_parser(
        "revision", help="Write a new migration script (developers, in a source tree)."
    )
    parser.add_argument("-m", "--message", required=True, help="What the revision changes.")
    parser.add_argument(
        "--autogenerate",
        action="store_true",
        help="Fill the script with the differences between the models and the database.",
    )
    parser.set_defaults(func=_revision)


COMMAND = cfg.SubCommandOpt(
    "command", title="Commands", help="What to do with the schema.", handler=_add_commands
)


def parse_args(argv: list[str] | None) -> cfg.ConfigOpts:
    conf = cfg.ConfigOpts()
    qinling_conf.register_opts(conf)
    conf.register_cli_opt(COMMAND)
    conf(args=sys.argv[1:] if argv is None else argv, project="qinling", prog="qinling-db-manage")
    return conf


def database_url(conf: cfg.ConfigOpts) -> str:
    return conf.database.connection or session.default_url(conf.state_dir)


def main(argv: list[str] | None = None) -> None:
    conf = parse_args(argv)
    # Alembic reports each step it runs through logging.
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        conf.command.func(database_url(conf), conf.command)
    except sa.exc.OperationalError as err:
        sys.exit(f"qinling-db-manage: the database is unavailable: {err.orig}")
