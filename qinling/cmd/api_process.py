"""One of qinling-server's other API processes (``[api] processes``); started
by qinling-server itself, not by hand."""

from __future__ import annotations

import sys

from qinling import api_processes, bootstrap, http_server
from qinling.connection_share import ConnectionShare


def main(argv: list[str] | None = None) -> None:
    api_processes.die_with_parent()
    conf = bootstrap.config(sys.argv[1:] if argv is None else argv)
    app, close = bootstrap.api_process(conf)
    share = ConnectionShare.from_env(conf.state_dir, conf.api.processes)
    http_server.serve_api(app, conf, on_stop=(close,), reuse_port=True, share=share)


if __name__ == "__main__":
    main()
