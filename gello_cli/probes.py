"""Metrics and health servers of a ``queue:work --processes N`` supervisor.

A worker serves its own (``gello_queue.extensions``, from its settings); a supervisor
serves one endpoint over all its children. Nothing is imported or started unless
``QUEUE_METRICS_PORT`` / ``QUEUE_HEALTH_PORT`` ask; they listen on
``QUEUE_METRICS_HOST`` / ``QUEUE_HEALTH_HOST``.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def supervised_observability() -> Iterator[None]:
    """For ``--processes N``: one metrics endpoint merging every child's metrics, and one
    pair of probes over every child."""
    from gello_queue import load_settings
    from gello_queue.inspection import serve_supervisor_metrics, serve_supervisor_probes

    settings = load_settings()
    with contextlib.ExitStack() as stack:
        if settings.queue_metrics_port is not None:
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="gello-metrics-"))
            stack.callback(serve_supervisor_metrics(settings, directory))
        if settings.queue_health_port is not None:
            directory = stack.enter_context(tempfile.TemporaryDirectory(prefix="gello-health-"))
            stack.callback(serve_supervisor_probes(settings, directory))
        yield
