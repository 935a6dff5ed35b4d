"""The Celery side of ``celery_rabbitmq.py``: a no-op task and a pickup-latency task.

Celery is installed for the benchmark only (``pip install celery``); it is not a gello
dependency. Configured from the environment by the benchmark script.
"""

from __future__ import annotations

import os
import time

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_process_shutdown, worker_shutdown

app = Celery("gello_bench", broker=os.environ.get("CELERY_BENCH_BROKER", "amqp://"))
app.conf.update(
    task_ignore_result=True,
    task_default_queue=os.environ.get("CELERY_BENCH_QUEUE", "celery"),
    task_acks_late=os.environ.get("CELERY_BENCH_ACKS_LATE") == "1",
    worker_prefetch_multiplier=int(os.environ.get("CELERY_BENCH_PREFETCH", "4")),
    worker_hijack_root_logger=False,
    broker_connection_retry_on_startup=True,
)

_span: list[float] = []


@app.task(name="noop")
def noop(n: int = 0) -> None:
    return None


@app.task(name="pickup")
def pickup(sent_at: float) -> None:
    with open(os.environ["CELERY_BENCH_LATENCY_FILE"], "a") as out:
        out.write(f"{time.time() - sent_at}\n")


@task_prerun.connect
def _started(**_: object) -> None:
    if not _span:
        _span.append(time.time())


@task_postrun.connect
def _finished(**_: object) -> None:
    if len(_span) < 2:
        _span.append(0.0)
        _span.append(0)
    _span[1] = time.time()
    _span[2] = int(_span[2]) + 1
    if _span[2] % 1000 == 0:
        _flush()


def _flush() -> None:
    stats = os.environ.get("CELERY_BENCH_STATS_DIR")
    if stats and len(_span) == 3:
        with open(os.path.join(stats, f"{os.getpid()}.txt"), "w") as out:
            out.write(f"{_span[0]} {_span[1]} {int(_span[2])}\n")


@worker_process_shutdown.connect
def _shutdown(**_: object) -> None:
    _flush()


@worker_shutdown.connect
def _main_shutdown(**_: object) -> None:
    _flush()
