"""``qinling-api``: the REST API alone, reaching engines over RPC."""

from __future__ import annotations

import sys

from qinling import bootstrap, exceptions, http_server


def main(argv: list[str] | None = None) -> None:
    conf = bootstrap.config(sys.argv[1:] if argv is None else argv)
    try:
        app, close = bootstrap.api_only(conf)
    except exceptions.ConfigurationError as err:
        sys.exit(f"qinling-api: {err.message}")
    http_server.serve_api(app, conf, on_stop=(close,))


if __name__ == "__main__":
    main()
