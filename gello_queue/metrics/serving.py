"""Serving ``/metrics``: one process, a ``queue:work`` worker, or a supervisor serving
the merged metrics of its children (prometheus-client's multiprocess mode)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from prometheus_client import (
    CollectorRegistry,
    PlatformCollector,
    ProcessCollector,
    start_http_server,
)

from gello_queue.metrics.job_metrics import JobMetrics
from gello_queue.settings import SUPERVISED_METRICS_ENV

if TYPE_CHECKING:
    from gello_queue.worker.runtime import Worker

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
"""Set for a supervisor's children: they record metrics, the supervisor serves them."""


def process_registry(metrics: JobMetrics) -> CollectorRegistry:
    """Add process and platform metrics (memory, CPU, fds) to ``metrics``' registry."""
    ProcessCollector(registry=metrics.registry)
    PlatformCollector(registry=metrics.registry)
    return metrics.registry


def serve(port: int, registry: CollectorRegistry, addr: str = "127.0.0.1") -> Callable[[], None]:
    """Serve ``/metrics`` on ``addr:port`` from a daemon thread; return a function that
    stops it."""
    server, thread = start_http_server(port, addr=addr, registry=registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop


def serve_multiprocess(port: int, directory: str, addr: str = "127.0.0.1") -> Callable[[], None]:
    """Serve the merged metrics of every process writing to ``directory``."""
    from prometheus_client import multiprocess

    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return serve(port, registry, addr)


def for_worker(
    worker: Worker, port: int | None, addr: str = "127.0.0.1"
) -> Callable[[], None] | None:
    """Metrics for a ``queue:work`` process: attach to ``worker`` and, unless a supervisor
    serves them, serve on ``addr:port``. Returns the stop function of the server, if any."""
    supervised = bool(os.environ.get(SUPERVISED_METRICS_ENV))
    if port is None and not supervised:
        return None
    metrics = JobMetrics()
    metrics.attach(worker)
    if supervised or port is None:
        return None
    return serve(port, process_registry(metrics), addr)


def prepare_supervisor(port: int, directory: str, addr: str = "127.0.0.1") -> Callable[[], None]:
    """For ``--processes N``: children write to ``directory``, the supervisor serves."""
    os.environ[MULTIPROC_ENV] = directory
    os.environ[SUPERVISED_METRICS_ENV] = "1"
    for stale in os.listdir(directory):
        if stale.endswith(".db"):
            os.unlink(os.path.join(directory, stale))
    return serve_multiprocess(port, directory, addr)
