"""The memory driver's shared state: jobs, the waiting index, and what every part needs.

Every part of the driver (``driver.py`` and the parts it composes) works on one
``MemoryStore`` under its lock; the helpers here are the steps several parts take on it:
dropping a job, moving one to the failed store, telling a job's state.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from gello_queue.core.states import JobState
from gello_queue.drivers.common import name_of
from gello_queue.ports import (
    BatchRecord,
    CompletedJob,
    FailedJob,
    Failure,
    OpsEvent,
    Progress,
    Reservation,
    WorkerRecord,
)


@dataclass(slots=True)
class _Job:
    id: str
    queue: str
    priority: int
    available_at: float
    created_at: float
    attempts: int
    max_attempts: int
    body: str
    unique_key: str | None = None
    unique_until: float | None = None
    token: str | None = None
    lease_expires_at: float | None = None
    reserved_by: str | None = None
    filed: int = 0
    """The number of its latest filing to wait: only that index entry counts."""


@dataclass(slots=True)
class _Batch:
    record: BatchRecord
    marks: dict[str, bool] = field(default_factory=dict)
    """Job id -> failed."""


class MemoryStore:
    """The shared state behind memory drivers; thread-safe through one lock."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self.jobs: dict[str, _Job] = {}
        self.failed: dict[str, FailedJob] = {}
        self.unique: dict[str, str] = {}
        self.workers: dict[str, tuple[WorkerRecord, float]] = {}
        self.paused: set[str] = set()
        self.restart_at: float | None = None
        self.commands: dict[str, tuple[str, float]] = {}
        """Commands left for workers: worker id -> (command, expires_at)."""
        self.throughput: dict[tuple[int, str], list[int]] = {}
        self.timings: dict[tuple[int, str, str, str, int], int] = {}
        """Timing counts: (minute, queue, job, series, bucket) -> count."""
        self.events: list[OpsEvent] = []
        """Operational events, newest first (within ``kept_events``' bounds)."""
        self.seq = itertools.count()
        self.coord: dict[str, tuple[str, int, float]] = {}
        """Coordination entries: key -> (owner, value, expires_at)."""
        self.batches: dict[str, _Batch] = {}
        self.results: dict[str, tuple[str, float]] = {}
        """Kept job results: id -> (JSON, expires_at)."""
        self.progress: dict[str, tuple[Progress, float]] = {}
        """Running jobs' progress: id -> (progress, expires_at)."""
        self.history: dict[str, collections.deque[CompletedJob]] = {}
        """Completed jobs per queue, oldest first (trimmed to ``keep`` as they come)."""
        self.watched: dict[str, list[CompletedJob]] = {}
        """The monitored completed jobs per queue, oldest first: apart, so the count trim
        of ``history`` never meets them (they go by age only)."""
        self.monitored_tags: dict[str, float] = {}
        """Monitored tags -> since when."""
        self.version = 0
        """Bumped on every push/release so waiting workers notice new work."""
        # Reserve and rescue must not walk every job: waiting jobs are indexed per queue
        # (entries outdated by a later filing, or by the job's end, are skipped when met).
        self.due: dict[str, list[tuple[int, float, str, int]]] = {}
        """Per queue, a heap of (-priority, available_at, id, filing) of jobs filed due."""
        self.later: dict[str, list[tuple[float, str, int]]] = {}
        """Per queue, a heap of (available_at, id, filing) of jobs filed before due."""
        self.reserved: set[str] = set()
        self._filings = itertools.count(1)

    def file(self, job: _Job) -> None:
        """Index a job that now waits: pushed, released, rescued, promoted or retried."""
        job.filed = next(self._filings)
        if job.available_at <= self.clock():
            entry = (-job.priority, job.available_at, job.id, job.filed)
            heapq.heappush(self.due.setdefault(job.queue, []), entry)
        else:
            later = (job.available_at, job.id, job.filed)
            heapq.heappush(self.later.setdefault(job.queue, []), later)

    def until_due(self, queues: Sequence[str]) -> float:
        """Seconds until the first job filed for later in ``queues`` falls due (no push
        tells a waiter that), or infinity; an outdated filing only wakes it early."""
        with self.lock:
            first = [self.later[q][0][0] for q in queues if self.later.get(q)]
        return max(min(first) - self.clock(), 0.0) if first else math.inf

    def take_due(self, queue: str, now: float, limit: int) -> list[_Job]:
        """Up to ``limit`` waiting jobs of ``queue`` due at ``now``, highest priority,
        then longest due, first; taken off the index."""
        due = self.due.setdefault(queue, [])
        later = self.later.get(queue)
        while later and later[0][0] <= now:
            at, job_id, filed = heapq.heappop(later)
            job = self.jobs.get(job_id)
            if job is not None and job.filed == filed:
                heapq.heappush(due, (-job.priority, at, job_id, filed))
        out: list[_Job] = []
        while due and len(out) < limit:
            _, at, job_id, filed = heapq.heappop(due)
            job = self.jobs.get(job_id)
            if job is None or job.filed != filed or job.token is not None:
                continue
            if at > now:  # an injected clock moved back: not due after all
                self.file(job)
                continue
            out.append(job)
        return out

    # -- steps the driver's parts share (callers hold the lock) -------------------------
    def held(self, res: Reservation) -> _Job | None:
        """The job ``res`` still leases, or None when its lease is gone."""
        job = self.jobs.get(res.id)
        return job if job is not None and job.token == res.token else None

    def drop(self, job: _Job) -> None:
        """Forget a job (acked, failed, cancelled, cleared), and its unique key."""
        del self.jobs[job.id]
        self.reserved.discard(job.id)
        if job.unique_key is not None and self.unique.get(job.unique_key) == job.id:
            del self.unique[job.unique_key]

    def to_failed(self, job: _Job, body: str, failure: Failure) -> None:
        """Record ``job`` in the failed store (it is dropped by the caller)."""
        self.failed[job.id] = FailedJob(
            id=job.id,
            queue=job.queue,
            name=name_of(body),
            body=body,
            exception=failure.exception,
            message=failure.message,
            traceback=failure.traceback,
            failed_at=self.clock(),
            attempts=job.attempts,
        )


def state_of(job: _Job, now: float) -> JobState:
    """A stored job's state at ``now``."""
    if job.token is not None:
        return JobState.RESERVED
    return JobState.SCHEDULED if job.available_at > now else JobState.PENDING


_STORES: dict[str, MemoryStore] = {}


def named_store(name: str) -> MemoryStore:
    """Return the process-wide store called ``name`` (``memory://name``)."""
    return _STORES.setdefault(name, MemoryStore())
