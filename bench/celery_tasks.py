"""The Celery app of the celery peer (imported by its worker and its driver)."""

from __future__ import annotations

import os
import time

from celery import Celery

KEY_PREFIX = "qinling_bench_"

app = Celery("bench", broker=os.environ["BENCH_BROKER"], backend=os.environ["BENCH_BACKEND"])
app.conf.update(
    result_backend_transport_options={"global_keyprefix": KEY_PREFIX},
    result_expires=600,
    worker_prefetch_multiplier=1,
    task_acks_late=False,
    broker_connection_retry_on_startup=True,
)


@app.task
def trivial() -> str:
    return "ok"


@app.task
def sleep_10ms() -> str:
    time.sleep(0.01)
    return "ok"
