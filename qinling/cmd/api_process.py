"""One of qinling-server's other API processes (``[api] processes``); started
by qinling-server itself, not by hand."""

from __future__ import annotations

import sys

from qinling import api_processes, bootstrap, http_server


def main(argv: list[str] | None = None) -> None:
    api_processes.die_with_parent()
    conf = bootstrap.config(sys.argv[1:] if argv is None else argv)
    app, close = bootstrap.api_process(conf)
    http_server.serve_api(app, conf, on_stop=(close,), reuse_port=True)


if __name__ == "__main__":
    main()
