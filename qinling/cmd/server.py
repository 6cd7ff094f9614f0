"""``qinling-server``: API and engine in one process, embedded defaults."""

from __future__ import annotations

import sys

from qinling import bootstrap, http_server


def main(argv: list[str] | None = None) -> None:
    conf = bootstrap.config(sys.argv[1:] if argv is None else argv)
    parts = bootstrap.all_in_one(conf)
    http_server.serve(
        parts.app,
        conf.api.host,
        conf.api.port,
        threads=conf.api.api_workers,
        on_stop=(parts.close,),
        drain_seconds=conf.engine.graceful_shutdown_timeout,
    )


if __name__ == "__main__":
    main()
