"""The failed store: jobs that used up their attempts, kept for inspection and retry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple
from typing import Any

from gello_queue.core.failed_retry import rebuild_retried
from gello_queue.drivers.common import prefix_bounds
from gello_queue.drivers.postgres.connection import Database
from gello_queue.ports import FailedJob

_RETRY_BATCH = 1000
"""Failed jobs moved back to the jobs table per transaction by ``failed_retry_all``."""


class FailedStore(Database):
    """The failed store's part of the port, on the failed jobs table."""

    async def failed_list(
        self, *, queue: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[FailedJob]:
        if queue is None:
            rows = await self._fetch("failed_list", limit, offset)
        else:
            rows = await self._fetch("failed_list_queue", limit, offset, queue)
        return [_failed(r) for r in rows]

    async def failed_count(self, queue: str | None = None) -> int:
        if queue is None:
            return int(await self._fetchval("failed_count"))
        return int(await self._fetchval("failed_count_queue", queue))

    async def failed_ids_by_prefix(self, prefix: str, limit: int) -> list[str]:
        rows = await self._fetch("failed_ids_by_prefix", *prefix_bounds(prefix), limit)
        return [r[0] for r in rows]

    async def failed_find(self, job_id: str) -> FailedJob | None:
        rows = await self._fetch("failed_find", job_id)
        return _failed(rows[0]) if rows else None

    async def failed_retry(self, job_ids: Sequence[str]) -> int:
        if not job_ids:
            return 0
        return await self._retry_failed("failed_take_ids", list(job_ids))

    async def failed_retry_all(self, queue: str | None = None) -> int:
        started = await self.now()
        args: tuple[object, ...] = (_RETRY_BATCH, started)
        if queue is not None:
            args = (*args, queue)
        take = "failed_take_all" if queue is None else "failed_take_queue"
        done = 0
        while True:
            moved = await self._retry_failed(take, *args)
            done += moved
            if moved < _RETRY_BATCH:
                return done

    async def _retry_failed(self, take: str, *args: object) -> int:
        """Move failed rows back to the jobs table in one transaction."""

        async def op(con: Any) -> int:
            async with con.transaction():
                rows = await con.fetch(self._q[take], *args)
                if not rows:
                    return 0
                columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [], [], [])
                for row in rows:
                    now = float(row[9])
                    failed = _failed(row)
                    b = rebuild_retried(failed.id, failed.queue, failed.name, failed.body, now)
                    values: tuple[Any, ...] = (
                        b.id,
                        b.queue,
                        b.name,
                        b.priority,
                        b.available_at,
                        b.created_at,
                        b.attempts,
                        b.max_attempts,
                        b.body,
                    )
                    for column, value in zip(columns, values, strict=True):
                        column.append(value)
                return int(await con.fetchval(self._q["requeue"], *columns))

        return await self._call(op)

    async def failed_forget(self, job_id: str) -> bool:
        return await self._execute("failed_forget", job_id) == 1

    async def failed_flush(self, queue: str | None = None) -> int:
        if queue is None:
            return await self._execute("failed_flush")
        return await self._execute("failed_flush_queue", queue)

    async def failed_prune(self, before: float) -> int:
        return await self._execute("failed_prune", float(before))

    async def failed_import(self, records: Sequence[FailedJob]) -> int:
        if not records:
            return 0
        columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [], [], [])
        for record in records:
            for column, value in zip(columns, astuple(record), strict=True):
                # A text column cannot hold NUL (another backend's poison message may).
                column.append(value.replace("\x00", "") if isinstance(value, str) else value)
        return await self._execute("failed_import", *columns)


def _failed(row: Any) -> FailedJob:
    return FailedJob(
        id=str(row[0]),
        queue=str(row[1]),
        name=str(row[2]),
        body=str(row[3]),
        exception=str(row[4]),
        message=str(row[5]),
        traceback=str(row[6]),
        failed_at=float(row[7]),
        attempts=int(row[8]),
    )
