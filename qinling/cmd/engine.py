"""``qinling-engine``: runs functions for one or more qinling-api."""

from __future__ import annotations

import sys

from qinling import bootstrap


def main(argv: list[str] | None = None) -> None:
    conf = bootstrap.config(sys.argv[1:] if argv is None else argv)
    bootstrap.run_engine(conf)


if __name__ == "__main__":
    main()
