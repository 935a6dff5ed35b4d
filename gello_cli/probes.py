"""Metrics and health servers of a ``queue:work --processes N`` supervisor.

A worker serves its own (``gello_queue.extensions``, from its settings); a supervisor
serves one endpoint over all its children. Nothing is imported or started unless
``QUEUE_METRICS_PORT`` / ``QUEUE_HEALTH_PORT`` ask; they listen on
``QUEUE_METRICS_HOST`` / ``QUEUE_HEALTH_HOST``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from typing import Any


@contextlib.contextmanager
def supervised_observability() -> Iterator[None]:
    """For ``--processes N``: one metrics endpoint merging every child's metrics, and one
    pair of probes over every child."""
    from gello_queue import load_settings
    from gello_queue.settings import SUPERVISED_HEALTH_ENV

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
            os.environ[SUPERVISED_HEALTH_ENV] = directory
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
