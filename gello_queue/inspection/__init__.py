"""The read model and admin actions that the CLI and the dashboard use.

One ``Inspector`` over a ``Queue``: bounded-cost snapshots, listings and actions, the same
for every driver. Tools never call a driver directly.
"""

from __future__ import annotations

from gello_queue.core.redaction import redact as redact  # the dashboard's payload rule
from gello_queue.inspection.admin import Admin
from gello_queue.inspection.base import SCAN_PAGE
from gello_queue.inspection.detail import JobDetail, detail_of_failed, detail_of_record
from gello_queue.inspection.failed import FailedFilter, FailureGroup, fingerprint
from gello_queue.inspection.ids import (
    CANDIDATES,
    MIN_PREFIX,
    PREFIX_SCAN,
    AmbiguousIdError,
    FailedIdsByPrefix,
    JobIdsByPrefix,
    short_ids,
)
from gello_queue.inspection.reads import LISTABLE, Reads, ServerWarnings
from gello_queue.inspection.snapshot import (
    QueueStats,
    Snapshot,
    heartbeat_age,
    is_stale,
    rescue_in,
)


class Inspector(Reads, Admin):
    """Reads and manages one connection's queues."""


__all__ = [
    "CANDIDATES",
    "LISTABLE",
    "MIN_PREFIX",
    "PREFIX_SCAN",
    "SCAN_PAGE",
    "AmbiguousIdError",
    "FailedFilter",
    "FailedIdsByPrefix",
    "FailureGroup",
    "Inspector",
    "JobDetail",
    "JobIdsByPrefix",
    "QueueStats",
    "ServerWarnings",
    "Snapshot",
    "detail_of_failed",
    "detail_of_record",
    "fingerprint",
    "heartbeat_age",
    "is_stale",
    "redact",
    "rescue_in",
    "short_ids",
]
