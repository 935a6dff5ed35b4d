"""What command-line tools need besides the ``Inspector``: the settings lookup, option
parsing, logging, redaction, the worker hint, and the ``--processes`` supervisor's merged
endpoints. Re-exported by ``gello_queue.inspection``, so that a tool imports nothing
else of the library but its root."""

from __future__ import annotations

import os
from collections.abc import Callable

from gello_queue.core.envelope import new_id
from gello_queue.core.redaction import redact_body, redact_url
from gello_queue.core.retry import parse_backoff_option
from gello_queue.diagnosis import UNKNOWN, Diagnosis, WorkerHint
from gello_queue.health import SupervisorHealth, restart_line, uptime
from gello_queue.health import serve as serve_health
from gello_queue.observability import configure_logging
from gello_queue.orchestration.schedule import default_schedules
from gello_queue.queue import Queue
from gello_queue.settings import (
    APP_HOWTO,
    SUPERVISED_HEALTH_ENV,
    AppLocation,
    Settings,
    connection_named,
    find_app,
)
from gello_queue.worker.runtime import parse_memory
from gello_queue.worker.states import EXIT_CODES

__all__ = [
    "APP_HOWTO",
    "EXIT_CODES",
    "UNKNOWN",
    "AppLocation",
    "Diagnosis",
    "WorkerHint",
    "configure_logging",
    "connection_named",
    "default_schedules",
    "find_app",
    "new_id",
    "parse_backoff_option",
    "parse_memory",
    "redact_body",
    "redact_url",
    "restart_line",
    "serve_supervisor_metrics",
    "serve_supervisor_probes",
    "uptime",
]


def serve_supervisor_metrics(settings: Settings, directory: str) -> Callable[[], None]:
    """Serve one metrics endpoint (``QUEUE_METRICS_PORT``/``_HOST``) merging what the
    children of a ``--processes`` supervisor write to ``directory``; return the stop."""
    # prometheus-client is loaded only when metrics are asked for.
    from gello_queue import metrics

    assert settings.queue_metrics_port is not None
    return metrics.prepare_supervisor(
        settings.queue_metrics_port, directory, settings.queue_metrics_host
    )


def serve_supervisor_probes(settings: Settings, directory: str) -> Callable[[], None]:
    """Serve one pair of probes (``QUEUE_HEALTH_PORT``/``_HOST``/``_DETAIL``) over the
    children of a ``--processes`` supervisor, which write their status to ``directory``
    (named to them in ``GELLO_HEALTH_DIR``); return the stop."""
    assert settings.queue_health_port is not None
    os.environ[SUPERVISED_HEALTH_ENV] = directory
    probes = SupervisorHealth(Queue(settings=settings), directory)
    try:
        stop_serving = serve_health(
            settings.queue_health_port,
            probes.liveness,
            probes.readiness,
            settings.queue_health_host,
            detail=settings.queue_health_detail,
        )
    except BaseException:
        probes.close()
        raise

    def stop() -> None:
        stop_serving()
        probes.close()

    return stop
