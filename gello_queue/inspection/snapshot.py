"""The overview's read model: one ``Snapshot`` of queues, workers and throughput, and the
worker-heartbeat arithmetic the dashboard and ``queue:monitor`` share."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from gello_queue.ports import FailedJob, OpsEvent, QueueCounts, ThroughputBucket, WorkerRecord


@dataclass(frozen=True, slots=True)
class QueueStats:
    """One queue's row in an overview."""

    name: str
    pending: int
    scheduled: int
    reserved: int
    failed: int
    wait_s: float
    processed_per_min: float
    failed_per_min: float
    workers: int
    paused: bool


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything an overview shows, read in a few backend calls."""

    taken_at: float
    queues: dict[str, QueueCounts]
    workers: list[WorkerRecord]
    paused: set[str]
    throughput: list[ThroughputBucket]
    recent_failures: list[FailedJob] = field(default_factory=list)
    restarts: dict[str, Any] | None = None
    """Restarts of the backend server that workers noticed (see ``health.backend_restarts``)."""
    events: list[OpsEvent] = field(default_factory=list)
    """The newest operational events (rescues of dead workers' jobs), newest first."""

    def wait_s(self, queue: str) -> float:
        """Age of the oldest pending job of ``queue`` (0 when none)."""
        counts = self.queues.get(queue)
        if counts is None or counts.oldest_pending_at is None:
            return 0.0
        return max(self.taken_at - counts.oldest_pending_at, 0.0)

    def consumers(self, queue: str) -> list[WorkerRecord]:
        """Live workers that serve ``queue``."""
        return [w for w in self.workers if queue in w.queues]

    def series(self, queue: str | None = None, minutes: int = 60) -> list[tuple[int, int]]:
        """(processed, failed) per minute, oldest first, the current minute last."""
        current = int(self.taken_at // 60) * 60
        first = current - (minutes - 1) * 60
        out = [[0, 0] for _ in range(minutes)]
        for b in self.throughput:
            if (queue is None or b.queue == queue) and first <= b.minute <= current:
                slot = out[(b.minute - first) // 60]
                slot[0] += b.processed
                slot[1] += b.failed
        return [(p, f) for p, f in out]

    def per_minute(self, queue: str | None = None) -> tuple[float, float]:
        """Processed and failed jobs per minute, over the last full minute and this one."""
        recent = self.series(queue, minutes=2)
        span_min = (60 + self.taken_at % 60) / 60
        return (
            sum(p for p, _ in recent) / span_min,
            sum(f for _, f in recent) / span_min,
        )

    def failed_last_hour(self, queue: str | None = None) -> int:
        """Jobs that failed in the last 60 minutes."""
        return sum(f for _, f in self.series(queue))

    def pending(self) -> int:
        """Pending jobs over every queue."""
        return sum(c.pending for c in self.queues.values())

    def max_wait(self) -> tuple[str | None, float]:
        """The queue whose oldest pending job has waited longest, and for how long."""
        best: tuple[str | None, float] = (None, 0.0)
        for name in self.queues:
            wait = self.wait_s(name)
            if wait > best[1]:
                best = (name, wait)
        return best

    def live_workers(self, lease_s: float) -> list[WorkerRecord]:
        """Workers whose heartbeat is not overdue (see ``is_stale``): the others are dead,
        though still listed until their record expires."""
        return [w for w in self.workers if not is_stale(w, self.taken_at, lease_s)]

    def busy(self, lease_s: float | None = None) -> tuple[int, int]:
        """Busy slots and total concurrency over listed workers, or over live ones only
        when ``lease_s`` is given."""
        workers = self.workers if lease_s is None else self.live_workers(lease_s)
        return (
            sum(min(len(w.current_jobs), w.concurrency) for w in workers),
            sum(w.concurrency for w in workers),
        )

    def stats(self, queue: str) -> QueueStats:
        """The overview row of ``queue``."""
        counts = self.queues.get(queue, QueueCounts())
        processed, failed = self.per_minute(queue)
        return QueueStats(
            name=queue,
            pending=counts.pending,
            scheduled=counts.scheduled,
            reserved=counts.reserved,
            failed=counts.failed,
            wait_s=self.wait_s(queue),
            processed_per_min=processed,
            failed_per_min=failed,
            workers=len(self.consumers(queue)),
            paused=queue in self.paused,
        )

    def all_stats(self) -> list[QueueStats]:
        """Rows for every known queue, by name."""
        return [self.stats(q) for q in sorted(self.queues)]

    def unconsumed(self) -> list[QueueStats]:
        """Queues with waiting jobs that no live worker serves and that are not paused."""
        return [
            q
            for q in self.all_stats()
            if q.workers == 0 and not q.paused and (q.pending or q.scheduled)
        ]

    def only(self, queues: Sequence[str]) -> Snapshot:
        """The same facts restricted to ``queues`` (and the workers serving them)."""
        keep = set(queues)
        return replace(
            self,
            queues={q: self.queues.get(q, QueueCounts()) for q in queues},
            workers=[w for w in self.workers if keep.intersection(w.queues)],
            paused=self.paused & keep,
            throughput=[b for b in self.throughput if b.queue in keep],
            recent_failures=[f for f in self.recent_failures if f.queue in keep],
        )


def heartbeat_age(worker: WorkerRecord, now: float | None = None) -> float:
    """Seconds since the worker's last heartbeat."""
    return max((now if now is not None else time.time()) - worker.last_seen, 0.0)


def is_stale(worker: WorkerRecord, now: float, lease_s: float) -> bool:
    """A worker beats every third of a lease: two missed beats is a warning."""
    return heartbeat_age(worker, now) > max(2 * lease_s / 3, 1.0)


def rescue_in(worker: WorkerRecord, now: float, lease_s: float) -> float:
    """Seconds until a silent worker's jobs become rescuable (0 when they are now)."""
    return max(worker.last_seen + lease_s - now, 0.0)
