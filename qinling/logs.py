"""Logging for the services: one line per event, request ids included."""

from __future__ import annotations

import logging
import sys

FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s [%(threadName)s] %(message)s"


def setup(conf, *, level: int | None = None) -> None:
    debug = getattr(conf, "debug", False)
    logging.basicConfig(
        stream=sys.stderr,
        format=FORMAT,
        level=level if level is not None else (logging.DEBUG if debug else logging.INFO),
        force=True,
    )
    for noisy in (
        "oslo_messaging",
        "amqp",
        "kombu",
        "stevedore",
        "cheroot",
        "urllib3",
        "alembic.runtime.plugins",
    ):
        logging.getLogger(noisy).setLevel(logging.WARNING)
