"""``Queue.status``: where one job is and how far it got, as one typed record.

Composed here, and only here, of reads the driver already has: ``find`` (a job still in
its queue), the ``ResultStore`` (a completed job's result), ``failed_find`` (a failed
job) and the ``ProgressStore`` (what a running job last reported), plus the worker
heartbeats (who runs it). A driver without an optional store leaves its part out.

A completed job is deleted from its queue, so it is told from an unknown id only by what
it left behind: a kept result, or progress it reported. A broker (RabbitMQ, SQS) cannot
list its messages, so there a job that waits or runs and left nothing yet is "unknown".
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any, Literal

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import EnvelopeError
from gello_queue.core.records import Progress
from gello_queue.core.states import JobState
from gello_queue.ports import Capability, ProgressStore, QueueDriver, ResultStore

StatusState = Literal["pending", "scheduled", "reserved", "completed", "failed", "unknown"]
"""A job's state as ``Queue.status`` tells it: a ``JobState`` value, or "unknown" when no
store knows the id (never dispatched, or completed leaving nothing behind)."""

UNKNOWN: StatusState = "unknown"


@dataclass(frozen=True, slots=True)
class JobFailure:
    """Why a failed job failed, as its failed-store record says."""

    exception: str
    """The exception's class name (or a tag such as ``EnvelopeError``)."""
    message: str


@dataclass(frozen=True, slots=True)
class JobStatus:
    """Where job ``id`` is, as far as the backend can tell (``Queue.status``)."""

    id: str
    state: StatusState
    name: str | None = None
    """The job's registered name, when its message is known."""
    queue: str | None = None
    attempts: int | None = None
    """Attempts made so far (the running one included)."""
    progress: Progress | None = None
    """What the job last reported with ``Job.progress``, kept a day after its last write."""
    dispatched_at: float | None = None
    """When it was stored (epoch seconds), while it is in its queue."""
    available_at: float | None = None
    """When it may run (the end of a delay or a retry's backoff), while it is in its queue."""
    started_at: float | None = None
    """When the running attempt began (while ``reserved``), as its worker's heartbeat
    tells: the worker publishes the start of each job it holds."""
    finished_at: float | None = None
    """When it ended in the failed store (a completion leaves no time behind)."""
    worker: str | None = None
    """The name of the worker running it (while ``reserved`` and the worker is alive)."""
    result: Any = None
    """What ``handle`` returned, as JSON values (completed, and its class keeps results)."""
    has_result: bool = False
    """Whether ``result`` was kept (a kept ``None`` and no result read the same)."""
    failure: JobFailure | None = None
    """Why it failed (``failed`` only)."""

    @property
    def running(self) -> bool:
        """A worker holds it now."""
        return self.state == "reserved"


async def job_status(driver: QueueDriver, job_id: str) -> JobStatus:
    """The status of job ``job_id`` on ``driver``; see the module docstring."""
    sees_jobs = Capability.LIST_JOBS in driver.capabilities
    record = await driver.find(job_id) if sees_jobs else None
    progress = await _progress(driver, job_id)
    if record is not None:
        env = None
        with contextlib.suppress(EnvelopeError):
            env = Envelope.decode(record.body)
        worker = started = None
        if record.state is JobState.RESERVED and record.reserved_by is not None:
            holder = next((w for w in await driver.workers() if w.id == record.reserved_by), None)
            if holder is not None:
                worker, started = holder.name, holder.running_since.get(job_id)
        return JobStatus(
            id=job_id,
            state=record.state.value,  # pending, scheduled or reserved
            name=env.name if env is not None else None,
            queue=record.queue,
            attempts=record.attempts,
            progress=progress,
            dispatched_at=record.created_at,
            available_at=record.available_at,
            started_at=started,
            worker=worker,
        )
    # Looked up after the queue: a result is stored before its job leaves the queue, and
    # a failure as it does, so a job gone from the queue is found in one or the other.
    if isinstance(driver, ResultStore) and (data := await driver.result_get(job_id)) is not None:
        return JobStatus(
            id=job_id, state="completed", progress=progress, result=json.loads(data),
            has_result=True,
        )  # fmt: skip
    failed = await driver.failed_find(job_id)
    if failed is not None:
        return JobStatus(
            id=job_id,
            state="failed",
            name=failed.name,
            queue=failed.queue,
            attempts=failed.attempts,
            progress=progress,
            finished_at=failed.failed_at,
            failure=JobFailure(failed.exception, failed.message),
        )
    if progress is not None and sees_jobs:
        # It ran (it reported progress), and is neither queued nor failed: it completed.
        return JobStatus(id=job_id, state="completed", progress=progress)
    return JobStatus(id=job_id, state=UNKNOWN, progress=progress)


async def _progress(driver: QueueDriver, job_id: str) -> Progress | None:
    if not isinstance(driver, ProgressStore):
        return None
    return (await driver.progress_get([job_id])).get(job_id)
