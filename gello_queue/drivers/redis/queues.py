"""Inspecting and managing waiting and running jobs on Redis, queue by queue.

Every call asks each known queue (``P{g}:queues``) in one pipelined round trip, one
script per queue, each in its queue's slot: counts, listing, finding, cancelling and
promoting a job by id, and clearing a queue ``BATCH`` jobs per script call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gello_queue.core.states import JobState
from gello_queue.drivers.redis.link import Link
from gello_queue.drivers.redis.scripts import BATCH, Call, run
from gello_queue.ports import JobRecord, QueueCounts

_LISTED = (JobState.PENDING, JobState.SCHEDULED, JobState.RESERVED)


class Queues:
    """Counts, listings and the management of jobs that have not failed."""

    def __init__(self, link: Link) -> None:
        self._link = link
        self._k = link.keys

    async def counts(self) -> dict[str, QueueCounts]:
        queues = await self._link.known()
        if not queues:
            return {}
        script = self._link.scripts["counts"]
        calls: list[Call] = []
        for queue in queues:
            k = self._k.of(queue)
            calls.append((script, (k.ready, k.delayed, k.reserved, k.failed), (k.job,)))
        out: dict[str, QueueCounts] = {}
        for queue, row in zip(queues, await run(self._link.redis, calls), strict=True):
            pending, scheduled, reserved, failed, oldest = row
            if pending or scheduled or reserved or failed:
                out[queue] = QueueCounts(
                    pending=pending,
                    scheduled=scheduled,
                    reserved=reserved,
                    failed=failed,
                    oldest_pending_at=float(oldest) if oldest else None,
                )
        return out

    async def queues(self) -> list[str]:
        return list(await self.counts())

    async def clear(self, queue: str) -> int:
        k = self._k.of(queue)
        total = 0
        while True:
            n = int(
                await self._link.scripts["clear"]((k.ready, k.delayed), (k.job, k.unique, BATCH))
            )
            total += n
            if n < BATCH:
                return total

    async def find(self, job_id: str) -> JobRecord | None:
        queues = await self._link.known()
        if not queues:
            return None
        script = self._link.scripts["find"]
        calls: list[Call] = [
            (script, (self._k.of(q).reserved,), (self._k.of(q).job, job_id)) for q in queues
        ]
        for queue, row in zip(queues, await run(self._link.redis, calls), strict=True):
            if row:
                return _record(queue, row)
        return None

    async def jobs(
        self, queue: str | None, state: JobState, *, limit: int = 50, offset: int = 0
    ) -> list[JobRecord]:
        if state not in _LISTED:
            return []
        queues = [queue] if queue is not None else await self._link.known()
        if not queues:
            return []
        want = offset + limit if limit >= 0 else 2**31
        script = self._link.scripts["jobs"]
        calls: list[Call] = []
        for q in queues:
            k = self._k.of(q)
            calls.append((script, (k.ready, k.delayed, k.reserved), (k.job, state.value, want)))
        rows = [
            _record(q, row)
            for q, part in zip(queues, await run(self._link.redis, calls), strict=True)
            for row in part
        ]
        if len(queues) > 1:
            rows.sort(key=lambda r: (r.available_at, r.id))
        return rows[offset:want]

    async def cancel(self, job_id: str) -> bool:
        results = await self._link.each_queue(
            "cancel", lambda k: ((k.ready, k.delayed), (k.job, k.unique, job_id))
        )
        return any(done for _, done in results)

    async def promote(self, job_id: str) -> bool:
        results = await self._link.each_queue(
            "promote", lambda k: ((k.ready, k.delayed, k.wake), (k.job, job_id))
        )
        return any(done for _, done in results)

    async def job_ids_by_prefix(self, prefix: str, limit: int) -> list[str]:
        # Waiting and running jobs are members of their queue's ready, delayed and
        # reserved sets: a bounded ZSCAN over those, as for the failed store.
        return await self._link.ids_by_prefix(
            prefix, limit, lambda k: (k.ready, k.delayed, k.reserved)
        )


def _record(queue: str, row: Sequence[Any]) -> JobRecord:
    job_id, state, attempts, priority, available_at, created_at, body, by, lease = row
    return JobRecord(
        id=job_id,
        queue=queue,
        state=JobState(state),
        attempts=int(attempts),
        priority=int(priority),
        available_at=float(available_at),
        created_at=float(created_at),
        body=body,
        reserved_by=by or None,
        lease_expires_at=float(lease) if lease else None,
    )
