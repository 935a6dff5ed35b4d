"""The failed store: jobs that used up their attempts, kept for inspection and retry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple
from typing import Any

from gello_queue.core.failed_query import (
    BULK_BATCH,
    FailedPage,
    FailedQuery,
    FailedStep,
    FailedTally,
    FailureGroup,
    fingerprint,
    fingerprint_of,
    merge_groups,
    page_of,
)
from gello_queue.core.failed_retry import rebuild_retried
from gello_queue.drivers.common import prefix_bounds
from gello_queue.drivers.failed_sql import NEWEST_FIRST, Where, step_cursor, where_of
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
        return await self._retry_rows(self._q[take], args, [])

    async def _retry_rows(
        self, take: str, args: Sequence[object], taken: list[tuple[float, str]]
    ) -> int:
        """Move the failed rows the statement ``take`` deletes back to the jobs table, in
        one transaction; add (failed_at, id) of each to ``taken``."""

        async def op(con: Any) -> int:
            async with con.transaction():
                rows = await con.fetch(take, *args)
                taken.extend((float(r[7]), str(r[0])) for r in rows)
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
        columns: tuple[list[Any], ...] = ([], [], [], [], [], [], [], [], [], [])
        for record in records:
            values = (*astuple(record), fingerprint(record))
            for column, value in zip(columns, values, strict=True):
                # A text column cannot hold NUL (another backend's poison message may).
                column.append(value.replace("\x00", "") if isinstance(value, str) else value)
        return await self._execute("failed_import", *columns)

    # -- filtered queries (see gello_queue.drivers.failed_sql) -----------------------
    async def _where(self, query: FailedQuery, cursor: str | None, first: int = 1) -> Where:
        if query.fingerprint is not None:
            await self._fingerprint_old_rows()
        return where_of(query, cursor, param=lambda n: f"${n + first - 1}", contains="strpos")

    async def _fingerprint_old_rows(self) -> None:
        """Give rows stored without a fingerprint theirs (a no-op once done)."""
        while rows := await self._fetch("failed_unprinted", BULK_BATCH):
            await self._execute(
                "failed_set_fingerprints",
                [r[0] for r in rows],
                [fingerprint_of(r[1], r[2], r[3]) for r in rows],
            )

    async def _rows(self, sql: str, args: Sequence[object]) -> list[Any]:
        rows: list[Any] = await self._call(lambda con: con.fetch(sql, *args))
        return rows

    async def failed_search(
        self, query: FailedQuery, *, limit: int = 50, cursor: str | None = None
    ) -> FailedPage:
        w = await self._where(query, cursor, first=2)
        sql = f"SELECT {_COLUMNS} FROM {self._table('failed_jobs')} {w.sql} {NEWEST_FIRST} LIMIT $1"
        return page_of([_failed(r) for r in await self._rows(sql, (limit + 1, *w.args))], limit)

    async def failed_tally(self, query: FailedQuery) -> FailedTally:
        w = await self._where(query, None)
        sql = f"SELECT count(*) FROM {self._table('failed_jobs')} {w.sql}"
        return FailedTally(int((await self._rows(sql, w.args))[0][0]))

    async def failed_groups(self, query: FailedQuery) -> list[FailureGroup]:
        await self._fingerprint_old_rows()
        w = await self._where(query, None)
        table = self._table("failed_jobs")
        # The example is the newest failure of the group, read by the index on
        # (fingerprint, failed_at, id): one row per group, never the whole group.
        sql = (
            "SELECT g.fingerprint, g.n, g.newest, g.queues, s.name, s.exception, s.message"
            " FROM (SELECT fingerprint, count(*) AS n, max(failed_at) AS newest,"
            f" array_agg(DISTINCT queue) AS queues FROM {table} {w.sql}"
            " GROUP BY fingerprint) g"
            f" CROSS JOIN LATERAL (SELECT name, exception, message FROM {table} f"
            " WHERE f.fingerprint = g.fingerprint ORDER BY failed_at DESC LIMIT 1) s"
        )
        groups = [
            FailureGroup(
                str(r[0]), str(r[4]), str(r[5]), str(r[6]), int(r[1]), sorted(r[3]), float(r[2])
            )
            for r in await self._rows(sql, w.args)
        ]
        return merge_groups([groups])

    async def failed_retry_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        w = await self._where(query, cursor, first=2)
        table = self._table("failed_jobs")
        sql = (
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} {w.sql} {NEWEST_FIRST}"
            f" LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING {_COLUMNS}, date_part('epoch', now())"
        )
        taken: list[tuple[float, str]] = []
        done = await self._retry_rows(sql, (limit, *w.args), taken)
        return FailedStep(done, step_cursor(taken, limit))

    async def failed_purge_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        w = await self._where(query, cursor, first=2)
        table = self._table("failed_jobs")
        sql = (
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} {w.sql} {NEWEST_FIRST}"
            " LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING failed_at, id"
        )
        rows = [(float(r[0]), str(r[1])) for r in await self._rows(sql, (limit, *w.args))]
        return FailedStep(len(rows), step_cursor(rows, limit))


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


_COLUMNS = "id, queue, name, body, exception, message, traceback, failed_at, attempts"
