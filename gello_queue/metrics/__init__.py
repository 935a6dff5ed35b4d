"""Prometheus metrics fed by lifecycle events, served on ``QUEUE_METRICS_PORT``.

``JobMetrics`` is an event listener: each job event costs a dict lookup and one or two
prometheus-client updates. Gauges that need the backend (queue depth, oldest pending age,
busy workers) are refreshed by a periodic collector task in the worker's loop, never on
the hot path. Labels are ``queue`` and ``job`` only (no ids), and capped in number.

With ``queue:work --processes N`` the supervisor serves one endpoint for all children
through prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``).

Imported only when metrics are asked for: ``import gello_queue`` never loads
prometheus_client.

Where things are::

    job_metrics.py  JobMetrics: the listener, the flush, the backend collector, wiring
    tallies.py      the hot path's plain tallies, their buckets, the label cap
    serving.py      serving /metrics: one process, a worker, a supervisor's children
    exposition.py   reading exposition text back (for tests and tools)
"""

from gello_queue.metrics.exposition import scrape, total
from gello_queue.metrics.job_metrics import COLLECT_EVERY_S, JobMetrics
from gello_queue.metrics.serving import (
    MULTIPROC_ENV,
    for_worker,
    prepare_supervisor,
    process_registry,
    serve,
    serve_multiprocess,
)
from gello_queue.metrics.tallies import MAX_LABEL_SETS

__all__ = [
    "COLLECT_EVERY_S",
    "MAX_LABEL_SETS",
    "MULTIPROC_ENV",
    "JobMetrics",
    "for_worker",
    "prepare_supervisor",
    "process_registry",
    "scrape",
    "serve",
    "serve_multiprocess",
    "total",
]
