"""The ``Inspector``'s batches: the list with progress, one batch with its jobs, cancel,
and retry of its failed jobs."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum

import orjson

from gello_queue.core.errors import JobNotFoundError
from gello_queue.core.states import JobState
from gello_queue.inspection.base import SCAN_PAGE, InspectorBase
from gello_queue.inspection.detail import JobDetail, detail_of_failed, detail_of_record
from gello_queue.orchestration.admin import Batches
from gello_queue.ports import BatchRecord, Capability, JobRecord, QueueDriver

BATCH_FAILED_SHOWN = 200
"""Failed jobs of one batch read with their failure (the others are counted)."""
BATCH_JOBS_SCANNED = 2_000
"""Queued jobs read per state to find a batch's unfinished ones (no store indexes
queued jobs by batch, so the read is bounded to keep a refresh cheap)."""
_QUEUED = (JobState.RESERVED, JobState.PENDING, JobState.SCHEDULED)


class BatchState(StrEnum):
    """Where a batch stands: failures are told apart by ``has_failures``."""

    RUNNING = "running"
    FINISHED = "finished"
    """Every job ran to an end (succeeded or failed)."""
    CANCELLED = "cancelled"
    """Its jobs that had not started are skipped (by an operator, or by a failure in a
    batch without ``allow_failures``)."""


def batch_state(record: BatchRecord) -> BatchState:
    """A batch's state: cancelled first, then finished, else running."""
    if record.cancelled:
        return BatchState.CANCELLED
    return BatchState.FINISHED if record.finished else BatchState.RUNNING


def batch_status(record: BatchRecord) -> str:
    """The state as a word or two: ``running``, ``finished with failures``..."""
    state = batch_state(record).value
    return f"{state} with failures" if record.failed else state


@dataclass(frozen=True, slots=True)
class BatchDetail:
    """One batch and the jobs of it the stores can name."""

    record: BatchRecord
    jobs: list[JobDetail] = field(default_factory=list)
    """Its failed jobs (up to ``BATCH_FAILED_SHOWN``, newest failure first; one retried
    since shows as queued), then its queued jobs found: running, pending, scheduled."""
    unlisted_failed: int = 0
    """Failed marks with no job to show: beyond ``BATCH_FAILED_SHOWN``, forgotten from
    the failed store, or chain links that never ran because an earlier link failed."""
    queued_complete: bool = True
    """False when the queued jobs could not all be read (the driver cannot list jobs,
    or the read stopped at ``BATCH_JOBS_SCANNED`` per state): more may wait."""

    @property
    def state(self) -> BatchState:
        return batch_state(self.record)

    @property
    def failed_jobs(self) -> list[JobDetail]:
        return [j for j in self.jobs if j.state is JobState.FAILED]


def _batch_of(record: JobRecord) -> str | None:
    try:
        data = orjson.loads(record.body)
    except orjson.JSONDecodeError:
        return None
    found = data.get("batch_id") if isinstance(data, dict) else None
    return found if isinstance(found, str) else None


class BatchReads(InspectorBase):
    """Batches listed with their counts, one batch with its jobs, cancel and retry."""

    async def batches(self, *, limit: int = 50, offset: int = 0) -> list[BatchRecord]:
        """Batches, newest first, with their counts (``batch_state`` says where each
        stands)."""
        return await (await self._driver()).batch_list(limit=limit, offset=offset)

    async def batch(self, batch_id: str, *, scan_limit: int = BATCH_JOBS_SCANNED) -> BatchDetail:
        """One batch with its jobs: the failed ones with their failure, and the queued ones
        found among at most ``scan_limit`` queued jobs per state.

        Raises:
            JobNotFoundError: no such batch (pruned, or never dispatched).
        """
        driver = await self._driver()
        record = await self._find(driver, batch_id)
        ids = list(record.failed_ids)
        shown = ids[:BATCH_FAILED_SHOWN]
        failed = await asyncio.gather(*(driver.failed_find(i) for i in shown))
        jobs = sorted(
            (detail_of_failed(f) for f in failed if f is not None),
            key=lambda j: (-(j.failed_at or 0.0), j.id),
        )
        # A failed mark whose job left the failed store may have been retried: queued.
        gone = [i for i, f in zip(shown, failed, strict=True) if f is None]
        known = {j.id for j in jobs}
        queued, complete = await self._queued(driver, batch_id, scan_limit)
        again = await asyncio.gather(*(driver.find(i) for i in gone if i not in queued))
        for rec in [*queued.values(), *(r for r in again if r is not None)]:
            if rec.id not in known:
                known.add(rec.id)
                jobs.append(detail_of_record(rec))
        unlisted = len(ids) - sum(1 for i in ids if i in known)
        return BatchDetail(record, jobs, unlisted, complete)

    async def _queued(
        self, driver: QueueDriver, batch_id: str, scan_limit: int
    ) -> tuple[dict[str, JobRecord], bool]:
        """The batch's queued jobs among the first ``scan_limit`` of each state, by id,
        and whether every queued job was read."""
        if Capability.LIST_JOBS not in driver.capabilities:
            return {}, False
        found: dict[str, JobRecord] = {}
        complete = True
        for state in _QUEUED:
            offset = 0
            while True:
                size = min(SCAN_PAGE, scan_limit - offset)
                if size <= 0:
                    complete = False
                    break
                page = await driver.jobs(None, state, limit=size, offset=offset)
                found.update((r.id, r) for r in page if _batch_of(r) == batch_id)
                if len(page) < size:
                    break
                offset += len(page)
        return found, complete

    async def cancel_batch(self, batch_id: str) -> int:
        """Cancel a batch: its jobs that have not started are skipped when they come up.
        Returns how many had not run to an end (0 when it was cancelled already).

        Raises:
            JobNotFoundError: no such batch.
        """
        driver = await self._driver()
        record = await self._find(driver, batch_id, with_failed=False)
        if record.cancelled:
            return 0
        await Batches(self.queue).cancel(batch_id)
        return record.pending

    async def retry_batch(self, batch_id: str) -> int:
        """Put the batch's failed jobs back on their queues through the failed store (a
        batch their failure cancelled goes on); return how many were retried.

        Raises:
            JobNotFoundError: no such batch.
        """
        return await Batches(self.queue).retry(batch_id)

    async def _find(
        self, driver: QueueDriver, batch_id: str, *, with_failed: bool = True
    ) -> BatchRecord:
        found = await driver.batch_find(batch_id, with_failed=with_failed)
        if found is None:
            raise JobNotFoundError(f"no batch {batch_id!r}: it may have been pruned")
        return found
