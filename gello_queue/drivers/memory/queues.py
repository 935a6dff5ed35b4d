"""Inspecting and managing the memory driver's queues: counts, listings, find, cancel,
promote, clear."""

from __future__ import annotations

from gello_queue.core.failed_query import FailedQuery, FailedStep, FailedTally
from gello_queue.core.job_query import (
    CANCELLABLE_STATES,
    JobPage,
    after_cursor,
    oldest_page,
    queued_matches,
    step_after,
)
from gello_queue.core.states import JobState
from gello_queue.drivers.memory.store import MemoryStore, _Job, state_of
from gello_queue.ports import JobRecord, QueueCounts


class Queues:
    """Reads and admin actions on the stored jobs, each under the store's lock."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def counts(self) -> dict[str, QueueCounts]:
        s = self.store
        with s.lock:
            now = s.clock()
            acc: dict[str, dict[str, float]] = {}
            for job in s.jobs.values():
                row = acc.setdefault(job.queue, {})
                state = state_of(job, now)
                row[state] = row.get(state, 0) + 1
                if state is JobState.PENDING:
                    oldest = row.get("oldest")
                    row["oldest"] = (
                        job.available_at if oldest is None else min(oldest, job.available_at)
                    )
            for failed in s.failed.values():
                row = acc.setdefault(failed.queue, {})
                row["failed"] = row.get("failed", 0) + 1
        return {
            q: QueueCounts(
                pending=int(r.get("pending", 0)),
                scheduled=int(r.get("scheduled", 0)),
                reserved=int(r.get("reserved", 0)),
                failed=int(r.get("failed", 0)),
                oldest_pending_at=r.get("oldest"),
            )
            for q, r in sorted(acc.items())
        }

    async def queues(self) -> list[str]:
        return list(await self.counts())

    async def clear(self, queue: str) -> int:
        s = self.store
        with s.lock:
            doomed = [j for j in s.jobs.values() if j.queue == queue and j.token is None]
            for job in doomed:
                s.drop(job)
        return len(doomed)

    async def find(self, job_id: str) -> JobRecord | None:
        with self.store.lock:
            job = self.store.jobs.get(job_id)
            return None if job is None else _record(job, self.store.clock())

    async def jobs(
        self, queue: str | None, state: JobState, *, limit: int = 50, offset: int = 0
    ) -> list[JobRecord]:
        s = self.store
        with s.lock:
            now = s.clock()
            rows = [
                _record(j, now)
                for j in s.jobs.values()
                if (queue is None or j.queue == queue) and state_of(j, now) is state
            ]
        rows.sort(key=lambda r: (r.available_at, r.id))
        return rows[offset : offset + limit]

    async def cancel(self, job_id: str) -> bool:
        with self.store.lock:
            job = self.store.jobs.get(job_id)
            if job is None or job.token is not None:
                return False
            self.store.drop(job)
            return True

    async def promote(self, job_id: str) -> bool:
        s = self.store
        with s.lock:
            job = s.jobs.get(job_id)
            now = s.clock()
            if job is None or state_of(job, now) is not JobState.SCHEDULED:
                return False
            job.available_at = now
            s.file(job)
            s.version += 1
            return True

    # -- queries by filter (the JobQueries port) -----------------------------------
    def _selected(self, state: JobState, query: FailedQuery, cursor: str | None) -> list[JobRecord]:
        """The jobs in ``state`` ``query`` selects after ``cursor``, oldest first (call
        under the lock)."""
        now = self.store.clock()
        rows = [_record(j, now) for j in self.store.jobs.values() if state_of(j, now) is state]
        picked = [r for r in rows if after_cursor(r, cursor) and queued_matches(query, r)]
        picked.sort(key=lambda r: (r.available_at, r.id))
        return picked

    async def jobs_search(
        self, state: JobState, query: FailedQuery, *, limit: int = 50, cursor: str | None = None
    ) -> JobPage:
        with self.store.lock:
            return oldest_page(self._selected(state, query, cursor), limit)

    async def jobs_tally(self, state: JobState, query: FailedQuery) -> FailedTally:
        with self.store.lock:
            return FailedTally(len(self._selected(state, query, None)))

    async def jobs_cancel_step(
        self, state: JobState, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        if state not in CANCELLABLE_STATES:
            return FailedStep(0, None)
        s = self.store
        with s.lock:
            taken = self._selected(state, query, cursor)[:limit]
            for r in taken:
                s.drop(s.jobs[r.id])
        return FailedStep(len(taken), step_after([(r.available_at, r.id) for r in taken], limit))

    async def jobs_promote_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        s = self.store
        with s.lock:
            taken = self._selected(JobState.SCHEDULED, query, cursor)[:limit]
            now = s.clock()
            for r in taken:
                job = s.jobs[r.id]
                job.available_at = now
                s.file(job)
            if taken:
                s.version += 1
        return FailedStep(len(taken), step_after([(r.available_at, r.id) for r in taken], limit))

    async def job_ids_by_prefix(self, prefix: str, limit: int) -> list[str]:
        with self.store.lock:
            return sorted(i for i in self.store.jobs if i.startswith(prefix))[:limit]


def _record(job: _Job, now: float) -> JobRecord:
    return JobRecord(
        id=job.id,
        queue=job.queue,
        state=state_of(job, now),
        attempts=job.attempts,
        priority=job.priority,
        available_at=job.available_at,
        created_at=job.created_at,
        body=job.body,
        reserved_by=job.reserved_by,
        lease_expires_at=job.lease_expires_at,
    )
