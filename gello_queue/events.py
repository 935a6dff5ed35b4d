"""Lifecycle events: one small mechanism that logs, metrics, traces and users subscribe to.

The worker and the queue (``JobDispatched``, on ``Queue.events``) emit frozen event
records; ``Events.emit`` calls every listener in order and never lets a listener's error
reach the worker (it is logged once per listener and event type). Listeners are plain
callables, so the hot path pays one function call per listener.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from gello_queue.core.states import WorkerState
from gello_queue.observability import get_logger


@dataclass(frozen=True, slots=True)
class JobEvent:
    """Base of job events: which job, on which queue."""

    id: str
    name: str
    queue: str
    attempt: int


@dataclass(frozen=True, slots=True)
class JobDispatched(JobEvent):
    """A job was stored through a ``Queue`` (dispatched, a batch member, a chain link or
    a batch callback); ``Queue.events`` emits one per job."""

    delay_s: float = 0.0


@dataclass(frozen=True, slots=True)
class JobReserved(JobEvent):
    """A worker leased the job and is about to run it."""

    wait_s: float = 0.0
    """Seconds from when the job became available to its start."""


@dataclass(frozen=True, slots=True)
class JobProcessed(JobEvent):
    """``handle`` succeeded and the backend accepted the job's ack (emitted once it did)."""

    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class JobReleased(JobEvent):
    """The job put itself back without using an attempt (rate limit, overlap, stop)."""

    delay_s: float = 0.0
    reason: str = ""


@dataclass(frozen=True, slots=True)
class JobRetrying(JobEvent):
    """An attempt failed; the job runs again after ``delay_s``."""

    delay_s: float = 0.0
    max_attempts: int = 0
    error: str = ""
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class JobFailed(JobEvent):
    """The job ended in the failed store."""

    reason: str = ""
    error: str = ""
    duration_s: float = 0.0


@dataclass(frozen=True, slots=True)
class JobLeaseLost(JobEvent):
    """The backend refused this attempt's outcome: its lease had expired and the job was
    rescued, so another attempt owns it. The attempt is neither processed nor failed."""

    refused: str = ""
    """What was refused: ``ack``, ``release`` or ``fail``."""


@dataclass(frozen=True, slots=True)
class JobsRescued:
    """A rescue pass requeued or failed jobs whose worker stopped answering."""

    requeued: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class LongWaitDetected:
    """A queue's oldest pending job has waited ``wait_s``, at or past ``threshold_s``
    (``QUEUE_ALERT_WAIT``), as Horizon's long-wait notification."""

    queue: str
    wait_s: float
    threshold_s: float

    @property
    def summary(self) -> str:
        return (
            f"gello: queue {self.queue!r} has a job waiting {self.wait_s:.0f}s"
            f" (alert at {self.threshold_s:g}s)"
        )


@dataclass(frozen=True, slots=True)
class FailureRateExceeded:
    """Of job class ``job``'s attempts that ended in the last ``window_s``, ``failed``
    of ``ended`` failed for good: a rate at or past ``threshold`` (``QUEUE_ALERT_FAILURE_RATE``)."""

    job: str
    rate: float
    threshold: float
    failed: int
    ended: int
    window_s: float

    @property
    def summary(self) -> str:
        return (
            f"gello: {self.job} failed {self.failed} of {self.ended} times in the last"
            f" {self.window_s / 60:g} min ({self.rate:.0%}, alert at {self.threshold:.0%})"
        )


Alert = LongWaitDetected | FailureRateExceeded
"""What the worker's alert checks raise (``gello_queue.alerts``)."""


@dataclass(frozen=True, slots=True)
class WorkerEvent:
    """A worker moved from ``previous`` to ``state``: it started (starting → running),
    paused, resumed (paused → running), began to stop (→ stopping) or stopped."""

    worker_id: str
    name: str
    state: WorkerState
    previous: WorkerState
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def started(self) -> bool:
        """The worker began taking jobs (a resume is not a start)."""
        return self.state is WorkerState.RUNNING and self.previous is WorkerState.STARTING


Event = JobEvent | JobsRescued | WorkerEvent
Listener = Callable[[Any], None]


class Events:
    """An ordered list of listeners; ``emit`` never raises."""

    def __init__(self, listeners: list[Listener] | None = None) -> None:
        self.listeners: list[Listener] = list(listeners or [])
        self._broken: set[tuple[int, type]] = set()

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Add ``listener``; return a function that removes it."""
        self.listeners.append(listener)
        return lambda: self.listeners.remove(listener)

    def emit(self, event: Any) -> None:
        """Call every listener with ``event``; a failing listener is logged, not raised."""
        for listener in self.listeners:
            try:
                listener(event)
            except Exception as exc:
                key = (id(listener), type(event))
                if key not in self._broken:
                    self._broken.add(key)
                    structlog.get_logger("gello").error(
                        "listener_error", listener=repr(listener), error=repr(exc)
                    )


def log_listener(event: Any) -> None:
    """The default listener: one structured log event per transition."""
    log = get_logger()
    match event:
        case JobReserved():
            log.debug(
                "reserved", job=event.name, id=event.id, queue=event.queue, attempt=event.attempt
            )
        case JobProcessed():
            log.info(
                "processed",
                job=event.name,
                id=event.id,
                queue=event.queue,
                attempt=event.attempt,
                duration_ms=round(event.duration_s * 1000, 2),
            )
        case JobRetrying():
            log.warning(
                "retrying",
                job=event.name,
                id=event.id,
                attempt=event.attempt,
                of=event.max_attempts,
                delay_s=round(event.delay_s, 3),
                error=event.error,
            )
        case JobReleased():
            log.info(
                "released", job=event.name, id=event.id, delay_s=event.delay_s, reason=event.reason
            )
        case JobFailed():
            log.error(
                "failed",
                job=event.name,
                id=event.id,
                queue=event.queue,
                attempt=event.attempt,
                reason=event.reason,
                error=event.error,
            )
        case JobLeaseLost():
            log.warning(
                "lease_lost",
                job=event.name,
                id=event.id,
                queue=event.queue,
                attempt=event.attempt,
                refused=event.refused,
            )
        case JobsRescued():
            log.warning("rescued", requeued=len(event.requeued), failed=len(event.failed))
        case LongWaitDetected():
            log.warning(
                "alert_long_wait",
                queue=event.queue,
                wait_s=round(event.wait_s, 1),
                threshold_s=event.threshold_s,
            )
        case FailureRateExceeded():
            log.warning(
                "alert_failure_rate",
                job=event.job,
                rate=round(event.rate, 3),
                threshold=event.threshold,
                failed=event.failed,
                ended=event.ended,
                window_s=event.window_s,
            )
        case WorkerEvent():
            log.info(
                f"worker_{event.state}",
                worker=event.name,
                previous=str(event.previous),
                **event.detail,
            )
        case _:
            pass
