"""What a worker counts and reports: its counters, the ``Worker.status()`` snapshot and
the heartbeat record stored in the backend."""

from __future__ import annotations

import itertools
import os
import socket
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gello_queue.core.states import WorkerState
from gello_queue.ports import WorkerRecord
from gello_queue.worker.executor import Outcome

if TYPE_CHECKING:
    from gello_queue.worker.runtime import Worker


@dataclass(slots=True)
class WorkerStatus:
    """What ``Worker.status()`` returns."""

    id: str
    state: WorkerState
    processed: int
    failed: int
    current_jobs: list[str]
    started_at: float | None
    uptime_s: float
    memory_bytes: int


@dataclass(slots=True)
class Counters:
    """Jobs handled, processed and failed, in all and per queue (flushed by the beat)."""

    processed: int = 0
    failed: int = 0
    handled: int = 0
    per_queue: dict[str, list[int]] = field(default_factory=dict)

    def count(self, queue: str, outcome: Outcome) -> None:
        # A processed job counts once the backend accepts its ack (``completed``).
        self.handled += 1
        if outcome is Outcome.FAILED:
            self.failed += 1
            self.per_queue.setdefault(queue, [0, 0])[1] += 1

    def completed(self, queue: str) -> None:
        self.processed += 1
        self.per_queue.setdefault(queue, [0, 0])[0] += 1


def status_of(worker: Worker) -> WorkerStatus:
    """A snapshot of ``worker``'s state and counters."""
    now = time.time()
    return WorkerStatus(
        id=worker.id,
        state=worker.state,
        processed=worker.counters.processed,
        failed=worker.counters.failed,
        current_jobs=list(worker.active),
        started_at=worker.started_at,
        uptime_s=0.0 if worker.started_at is None else now - worker.started_at,
        memory_bytes=worker.memory_bytes(),
    )


def record_of(worker: Worker) -> WorkerRecord:
    """``worker``'s heartbeat, as stored in the backend."""
    # At most 50 jobs: a heartbeat stays small, whatever the concurrency.
    running = dict(itertools.islice(worker.active.items(), 50))
    return WorkerRecord(
        id=worker.id,
        name=worker.name,
        host=socket.gethostname(),
        pid=os.getpid(),
        queues=worker.queues,
        concurrency=worker.concurrency,
        state=str(worker.state),
        processed=worker.counters.processed,
        failed=worker.counters.failed,
        current_jobs=list(running),
        running_since={
            job_id: res.lease_expires_at - worker.lease_s for job_id, (res, _) in running.items()
        },
        started_at=worker.started_at or 0.0,
        memory_bytes=worker.memory_bytes(),
    )
