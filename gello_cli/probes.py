"""Metrics and health servers around ``queue:work`` (and its ``--processes`` supervisor).

Kept apart from the command so the worker command only says "observe this worker".
Nothing is imported or started unless ``QUEUE_METRICS_PORT`` / ``QUEUE_HEALTH_PORT`` ask;
they listen on ``QUEUE_METRICS_HOST`` / ``QUEUE_HEALTH_HOST``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any

SUPERVISED_METRICS = "GELLO_METRICS_SUPERVISED"
HEALTH_DIR = "GELLO_HEALTH_DIR"


@contextlib.contextmanager
def worker_observability(worker: Any) -> Iterator[None]:
    """Serve metrics (``QUEUE_METRICS_PORT``) and probes (``QUEUE_HEALTH_PORT``) for one
    worker while the block runs; a supervisor's child only records, the supervisor serves."""
    settings = worker.connection.settings
    stops: list[Callable[[], None]] = []
    if settings.queue_metrics_port is not None or os.environ.get(SUPERVISED_METRICS):
        from gello_queue import metrics  # prometheus_client only when metrics are on

        stop = metrics.for_worker(worker, settings.queue_metrics_port, settings.queue_metrics_host)
        if stop is not None:
            stops.append(stop)
    supervised = bool(os.environ.get(HEALTH_DIR))
    if settings.queue_health_port is not None or supervised:
        from gello_queue import health

        probes = health.WorkerHealth(worker).attach()
        if not supervised:
            stops.append(serve_probes(settings, probes))
    if settings.queue_tracing:
        trace_worker(worker)
    from gello_queue import retention  # bounded storage is on by default

    retention.for_worker(worker)
    try:
        yield
    finally:
        for stop in reversed(stops):
            stop()


@contextlib.contextmanager
def supervised_observability() -> Iterator[None]:
    """For ``--processes N``: one metrics endpoint merging every child's metrics, and one
    pair of probes over every child."""
    from gello_queue import load_settings

    settings = load_settings()
    with contextlib.ExitStack() as stack:
        if settings.queue_metrics_port is not None:
            from gello_queue import metrics

            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="gello-metrics-"))
            stack.callback(
                metrics.prepare_supervisor(
                    settings.queue_metrics_port, directory, settings.queue_metrics_host
                )
            )
        if settings.queue_health_port is not None:
            from gello_queue import Queue, health

            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="gello-health-"))
            os.environ[HEALTH_DIR] = directory
            probes = health.SupervisorHealth(Queue(settings=settings), directory)
            stack.callback(probes.close)
            stack.callback(serve_probes(settings, probes))
        yield


def serve_probes(settings: Any, probes: Any) -> Callable[[], None]:
    """Serve ``probes`` where the settings say (``QUEUE_HEALTH_PORT``/``_HOST``/``_DETAIL``)."""
    from gello_queue import health

    return health.serve(
        settings.queue_health_port,
        probes.liveness,
        probes.readiness,
        settings.queue_health_host,
        detail=settings.queue_health_detail,
    )


def trace_worker(worker: Any) -> None:
    """OpenTelemetry spans for the worker's jobs (``QUEUE_TRACING=true``)."""
    from gello_queue import ConfigurationError

    try:
        from gello_queue import tracing
    except ImportError:
        raise ConfigurationError(
            "QUEUE_TRACING needs OpenTelemetry: pip install 'gello[otel]'"
        ) from None
    tracing.instrument_worker(worker)
