"""``qinling-engine``: runs functions for one or more qinling-api."""

from __future__ import annotations

import sys

from qinling import bootstrap, exceptions


def main(argv: list[str] | None = None) -> None:
    conf = bootstrap.config(sys.argv[1:] if argv is None else argv)
    try:
        bootstrap.run_engine(conf)
    except exceptions.ConfigurationError as err:
        sys.exit(f"qinling-engine: {err.message}")


if __name__ == "__main__":
    main()
