"""The read model and admin actions that the CLI and the dashboard use.

One ``Inspector`` over a ``Queue``: bounded-cost snapshots, listings and actions, the same
for every driver. Tools never call a driver directly.

Besides ``gello_queue``'s ``__all__``, this is the only module command-line tools import
(an import-linter contract holds ``gello_cli`` to it), so it also re-exports what they
need from the library's internals (``tooling``): the settings lookup, option parsing,
logging, redaction, the worker hint and the supervisor's merged endpoints.
"""

from __future__ import annotations

from gello_queue.core.balance import BalanceLimits, parse_processes, rebalance, workload
from gello_queue.core.redaction import redact as redact  # the dashboard's payload rule
from gello_queue.core.runnable import StrandReason, stranding_of
from gello_queue.core.states import WorkerCommand
from gello_queue.core.thresholds import WaitThresholds
from gello_queue.inspection.admin import Admin
from gello_queue.inspection.base import SCAN_PAGE
from gello_queue.inspection.batches import (
    BATCH_FAILED_SHOWN,
    BATCH_JOBS_SCANNED,
    BatchDetail,
    BatchReads,
    BatchState,
    batch_state,
    batch_status,
)
from gello_queue.inspection.deploy_check import DeployCheck, DeployChecks, StrandedGroup
from gello_queue.inspection.detail import JobDetail, detail_of_failed, detail_of_record
from gello_queue.inspection.events import RECENT_EVENTS, event_line
from gello_queue.inspection.facts import BATCHES_COUNTED, Facts, HealthReport, ServerWarnings
from gello_queue.inspection.failed import FailedFilter, FailureGroup, fingerprint
from gello_queue.inspection.history import RECENT_MAX
from gello_queue.inspection.ids import (
    CANDIDATES,
    MIN_PREFIX,
    PREFIX_SCAN,
    AmbiguousIdError,
    FailedIdsByPrefix,
    JobIdsByPrefix,
    short_ids,
)
from gello_queue.inspection.matching import JOBS_SCANNED, Matches, job_matches
from gello_queue.inspection.reads import LISTABLE, Reads
from gello_queue.inspection.snapshot import (
    QueueStats,
    Snapshot,
    heartbeat_age,
    is_stale,
    rescue_in,
)
from gello_queue.inspection.stats import (
    PERCENTILES,
    TimingReport,
    TimingStatsRow,
    parse_window,
)
from gello_queue.inspection.tags import TagCounts, Tags
from gello_queue.inspection.tooling import (
    APP_HOWTO,
    EXIT_CODES,
    UNKNOWN,
    AppLocation,
    Diagnosis,
    WorkerHint,
    configure_logging,
    connection_named,
    default_schedules,
    find_app,
    new_id,
    parse_backoff_option,
    parse_memory,
    redact_body,
    redact_url,
    restart_line,
    serve_supervisor_metrics,
    serve_supervisor_probes,
    uptime,
)
from gello_queue.inspection.workers import pick_worker, worker_label
from gello_queue.ports import EventKind, FailedPage, FailedTally, OpsEvent


class Inspector(Reads, Tags, Admin, BatchReads, Facts, DeployChecks):
    """Reads and manages one connection's queues."""


__all__ = [
    "APP_HOWTO",
    "BATCHES_COUNTED",
    "BATCH_FAILED_SHOWN",
    "BATCH_JOBS_SCANNED",
    "CANDIDATES",
    "EXIT_CODES",
    "JOBS_SCANNED",
    "LISTABLE",
    "MIN_PREFIX",
    "PERCENTILES",
    "PREFIX_SCAN",
    "RECENT_EVENTS",
    "RECENT_MAX",
    "SCAN_PAGE",
    "UNKNOWN",
    "AmbiguousIdError",
    "AppLocation",
    "BalanceLimits",
    "BatchDetail",
    "BatchState",
    "DeployCheck",
    "Diagnosis",
    "EventKind",
    "FailedFilter",
    "FailedIdsByPrefix",
    "FailedPage",
    "FailedTally",
    "FailureGroup",
    "HealthReport",
    "Inspector",
    "JobDetail",
    "JobIdsByPrefix",
    "Matches",
    "OpsEvent",
    "QueueStats",
    "ServerWarnings",
    "Snapshot",
    "StrandReason",
    "StrandedGroup",
    "TagCounts",
    "TimingReport",
    "TimingStatsRow",
    "WaitThresholds",
    "WorkerCommand",
    "WorkerHint",
    "batch_state",
    "batch_status",
    "configure_logging",
    "connection_named",
    "default_schedules",
    "detail_of_failed",
    "detail_of_record",
    "event_line",
    "find_app",
    "fingerprint",
    "heartbeat_age",
    "is_stale",
    "job_matches",
    "new_id",
    "parse_backoff_option",
    "parse_memory",
    "parse_processes",
    "parse_window",
    "pick_worker",
    "rebalance",
    "redact",
    "redact_body",
    "redact_url",
    "rescue_in",
    "restart_line",
    "serve_supervisor_metrics",
    "serve_supervisor_probes",
    "short_ids",
    "stranding_of",
    "uptime",
    "worker_label",
    "workload",
]
