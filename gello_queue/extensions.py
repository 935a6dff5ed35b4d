"""The worker extensions settings turn on, for every worker however it is started.

- metrics: ``QUEUE_METRICS_PORT`` (or a ``--processes`` supervisor serving them);
- health probes: ``QUEUE_HEALTH_PORT`` (or a supervisor serving them);
- tracing: ``QUEUE_TRACING``;
- retention of the failed store and batch records: on unless every limit is off;
- long-wait and failure-rate alerts: ``QUEUE_ALERT_WAIT``, ``QUEUE_ALERT_FAILURE_RATE``.

Nothing heavy is imported unless a setting asks: prometheus_client, the HTTP servers and
OpenTelemetry load inside ``attach``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

from gello_queue.core.errors import ConfigurationError
from gello_queue.settings import SUPERVISED_HEALTH_ENV, SUPERVISED_METRICS_ENV
from gello_queue.worker.extension import WorkerExtension, provide_defaults

if TYPE_CHECKING:
    from gello_queue.worker.runtime import Worker


class Metrics:
    """Prometheus metrics of the worker's jobs, served on ``QUEUE_METRICS_HOST:PORT``."""

    def attach(self, worker: Worker) -> Callable[[], None] | None:
        from gello_queue import metrics  # prometheus_client only when metrics are on

        settings = worker.connection.settings
        return metrics.for_worker(worker, settings.queue_metrics_port, settings.queue_metrics_host)


class Health:
    """``/healthz`` and ``/readyz`` for the worker; a supervised child only records."""

    def attach(self, worker: Worker) -> Callable[[], None] | None:
        from gello_queue import health

        probes = health.WorkerHealth(worker).attach()
        settings = worker.connection.settings
        port = settings.queue_health_port
        if port is None or os.environ.get(SUPERVISED_HEALTH_ENV):
            return None  # a supervised child records its status; the supervisor serves
        return health.serve(
            port,
            probes.liveness,
            probes.readiness,
            settings.queue_health_host,
            detail=settings.queue_health_detail,
        )


class Tracing:
    """OpenTelemetry spans for the worker's jobs and the dispatches they make."""

    def attach(self, worker: Worker) -> Callable[[], None] | None:
        try:
            from gello_queue import tracing
        except ImportError:
            raise ConfigurationError(
                "QUEUE_TRACING needs OpenTelemetry: pip install 'gello[otel]'"
            ) from None
        tracing.instrument_worker(worker)
        return None


class Retention:
    """Prunes the failed store and finished batches while the worker runs."""

    def attach(self, worker: Worker) -> Callable[[], None] | None:
        from gello_queue import retention

        retention.for_worker(worker)  # None when every limit is off
        return None


class Alerting:
    """Long-wait and failure-rate alerts, to the log and ``QUEUE_ALERT_WEBHOOK``."""

    def attach(self, worker: Worker) -> Callable[[], None] | None:
        from gello_queue import alerts

        alerts.for_worker(worker)
        return None


def for_worker(worker: Worker) -> list[WorkerExtension]:
    """What ``worker``'s settings (and a supervisor, when there is one) turn on."""
    settings = worker.connection.settings
    chosen: list[WorkerExtension] = []
    if settings.queue_metrics_port is not None or os.environ.get(SUPERVISED_METRICS_ENV):
        chosen.append(Metrics())
    if settings.queue_health_port is not None or os.environ.get(SUPERVISED_HEALTH_ENV):
        chosen.append(Health())
    if settings.queue_tracing:
        chosen.append(Tracing())
    chosen.append(Retention())
    if settings.queue_alert_wait is not None or settings.queue_alert_failure_rate is not None:
        chosen.append(Alerting())
    return chosen


provide_defaults(for_worker)
