"""Reading and managing the jobs table for the status commands and the dashboard:
counts per queue, listings by state, look-ups, and the admin actions (clear, cancel,
promote)."""

from __future__ import annotations

from typing import Any

from gello_queue.core.states import JobState
from gello_queue.drivers.common import prefix_bounds
from gello_queue.drivers.postgres.connection import Database
from gello_queue.ports import JobRecord, QueueCounts


class Inspection(Database):
    """The inspecting-and-managing part of the port, on the jobs table."""

    async def counts(self) -> dict[str, QueueCounts]:
        acc: dict[str, list[Any]] = {}
        for queue, pending, scheduled, reserved, failed, oldest in await self._fetch("counts"):
            row = acc.setdefault(queue, [0, 0, 0, 0, None])
            row[0] += pending
            row[1] += scheduled
            row[2] += reserved
            row[3] += failed
            if oldest is not None:
                row[4] = oldest
        return {
            q: QueueCounts(
                pending=int(r[0]),
                scheduled=int(r[1]),
                reserved=int(r[2]),
                failed=int(r[3]),
                oldest_pending_at=None if r[4] is None else float(r[4]),
            )
            for q, r in sorted(acc.items())
        }

    async def queues(self) -> list[str]:
        return [str(r[0]) for r in await self._fetch("queues")]

    async def clear(self, queue: str) -> int:
        return await self._execute("clear", queue)

    async def find(self, job_id: str) -> JobRecord | None:
        rows = await self._fetch("find", job_id)
        return _record(rows[0]) if rows else None

    async def jobs(
        self, queue: str | None, state: JobState, *, limit: int = 50, offset: int = 0
    ) -> list[JobRecord]:
        name = {
            JobState.PENDING: "jobs_pending",
            JobState.SCHEDULED: "jobs_scheduled",
            JobState.RESERVED: "jobs_reserved",
        }.get(state)
        if name is None:
            return []
        return [_record(r) for r in await self._fetch(name, queue, limit, offset)]

    async def cancel(self, job_id: str) -> bool:
        return await self._execute("cancel", job_id) == 1

    async def promote(self, job_id: str) -> bool:
        return bool(await self._fetch("promote", job_id))

    async def job_ids_by_prefix(self, prefix: str, limit: int) -> list[str]:
        rows = await self._fetch("job_ids_by_prefix", *prefix_bounds(prefix), limit)
        return [r[0] for r in rows]


def _record(row: Any) -> JobRecord:
    (job_id, queue, attempts, priority, available_at, created_at, body, by, lease, held, now) = row
    if held:
        state = JobState.RESERVED
    else:
        state = JobState.SCHEDULED if available_at > now else JobState.PENDING
    return JobRecord(
        id=str(job_id),
        queue=str(queue),
        state=state,
        attempts=int(attempts),
        priority=int(priority),
        available_at=float(available_at),
        created_at=float(created_at),
        body=str(body),
        reserved_by=None if by is None else str(by),
        lease_expires_at=None if lease is None else float(lease),
    )
