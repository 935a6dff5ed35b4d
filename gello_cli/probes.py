"""Metrics and health servers around ``queue:work`` (and its ``--processes`` supervisor).

Kept apart from the command so the worker command only says "observe this worker".
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any


@contextlib.contextmanager
def worker_observability(worker: Any) -> Iterator[None]:
    """Serve metrics (``QUEUE_METRICS_PORT``) and probes (``QUEUE_HEALTH_PORT``) for one
    worker while the block runs."""
    settings = worker.connection.settings
    stops: list[Callable[[], None]] = []
    if settings.queue_metrics_port is not None or os.environ.get("GELLO_METRICS_SUPERVISED"):
        from gello_queue import metrics  # prometheus_client only when metrics are on

        stop = metrics.for_worker(worker, settings.queue_metrics_port)
        if stop is not None:
            stops.append(stop)
    try:
        yield
    finally:
        for stop in reversed(stops):
            stop()


@contextlib.contextmanager
def supervised_observability() -> Iterator[None]:
    """For ``--processes N``: one metrics endpoint merging every child's metrics."""
    from gello_queue import load_settings

    settings = load_settings()
    port = settings.queue_metrics_port
    if port is None:
        yield
        return
    from gello_queue import metrics

    with tempfile.TemporaryDirectory(prefix="gello-metrics-") as directory:
        stop = metrics.prepare_supervisor(port, directory)
        try:
            yield
        finally:
            stop()
