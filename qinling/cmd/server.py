"""``qinling-server``: API and engine in one process, embedded defaults.

With ``[api] processes`` > 1 it also starts that many API processes less one
(``qinling.cmd.api_process``), which reach its engine over the data socket.
"""

from __future__ import annotations

import sys

from qinling import api_processes, bootstrap, exceptions, http_server
from qinling.connection_share import ConnectionShare


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    conf = bootstrap.config(argv)
    try:
        parts = bootstrap.all_in_one(conf)
    except exceptions.ConfigurationError as err:
        sys.exit(f"qinling-server: {err.message}")
    on_stop = (parts.close,)
    on_listening = None
    share = None
    several = conf.api.processes > 1
    if several:
        share = ConnectionShare.create(conf.state_dir, conf.api.processes)
        others = api_processes.ApiProcesses(
            argv,
            conf.api.processes - 1,
            state_dir=conf.state_dir,
            drain_seconds=conf.engine.graceful_shutdown_timeout,
        )
        on_listening, on_stop = others.start, (others.stop, parts.close)
    http_server.serve_api(
        parts.app,
        conf,
        on_stop=on_stop,
        reuse_port=several,
        on_listening=on_listening,
        share=share,
    )


if __name__ == "__main__":
    main()
