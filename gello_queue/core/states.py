"""Job and worker states: one word each, the same in code, storage, CLI, dashboard, events
and docs."""

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


class WorkerState(StrEnum):
    """A worker's lifecycle, as status tools show it and as its ``WorkerEvent`` says."""

    STARTING = "starting"
    """Connecting to its backend and attaching its extensions."""
    RUNNING = "running"
    """Taking jobs."""
    PAUSED = "paused"
    """Taking no new jobs until resumed; running jobs go on."""
    STOPPING = "stopping"
    """Taking no new jobs; running jobs finish within the grace period."""
    STOPPED = "stopped"
    """Not started yet, or done."""


class WorkerCommand(StrEnum):
    """What an operator asks of one running worker, through the backend (any host)."""

    PAUSE = "pause"
    """Take no new jobs until resumed; running jobs go on."""
    RESUME = "resume"
    """Take jobs again after a pause."""
    QUIET = "quiet"
    """Take no new jobs, let every running job finish (each within its own timeout), then
    exit: a drain before a deploy, with no grace period cutting jobs short."""
    STOP = "stop"
    """Stop as on SIGTERM: running jobs get the grace period, then go back to their queue."""


COMMAND_KEPT_S = 3600.0
"""How long a command waits for its worker to take it: one left for a worker that died
must not be obeyed by nobody for ever."""
