"""Job states: one word each, the same in code, storage, CLI, dashboard and docs."""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    """Where a job is in its lifecycle."""

    PENDING = "pending"
    """Waiting in its queue, available now."""
    SCHEDULED = "scheduled"
    """Waiting until a later time: dispatched with a delay, or backing off before a retry."""
    RESERVED = "reserved"
    """Held by a worker under a lease that the worker's heartbeat keeps renewing."""
    COMPLETED = "completed"
    """Handled successfully and removed from the queue."""
    FAILED = "failed"
    """In the failed store: tries exhausted, failed permanently, or not runnable."""
