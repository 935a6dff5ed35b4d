"""The SQLite driver's failed store: jobs that used up their tries, kept until retried,
forgotten or pruned (``gello_failed_jobs``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import astuple

from gello_queue.core.failed_retry import rebuild_retried
from gello_queue.drivers.common import name_of, prefix_bounds
from gello_queue.drivers.sqlite.connection import SqliteConnection
from gello_queue.drivers.sqlite.sql import Q
from gello_queue.ports import FailedJob, Failure


class FailedStore(SqliteConnection):
    """The failed-store half of the port; ``SqliteDriver`` inherits it."""

    def _insert_failed(
        self,
        tx: sqlite3.Connection,
        job_id: str,
        queue: str,
        body: str,
        failure: Failure,
        attempts: int,
    ) -> None:
        tx.execute(
            Q["insert_failed"],
            (
                job_id,
                queue,
                name_of(body),
                body,
                failure.exception,
                failure.message,
                failure.traceback,
                self.clock(),
                attempts,
            ),
        )

    async def failed_list(
        self, *, queue: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[FailedJob]:
        if queue is None:
            cur = self.db.execute(Q["failed_list"], (limit, offset))
        else:
            cur = self.db.execute(Q["failed_list_in_queue"], (queue, limit, offset))
        return [FailedJob(*r) for r in cur.fetchall()]

    async def failed_count(self, queue: str | None = None) -> int:
        if queue is None:
            row = self.db.execute(Q["failed_count"]).fetchone()
        else:
            row = self.db.execute(Q["failed_count_in_queue"], (queue,)).fetchone()
        return int(row[0])

    async def failed_ids_by_prefix(self, prefix: str, limit: int) -> list[str]:
        rows = self.db.execute(
            Q["failed_ids_by_prefix"], (*prefix_bounds(prefix), limit)
        ).fetchall()
        return [r[0] for r in rows]

    async def failed_find(self, job_id: str) -> FailedJob | None:
        row = self.db.execute(Q["failed_find"], (job_id,)).fetchone()
        return None if row is None else FailedJob(*row)

    async def failed_retry(self, job_ids: Sequence[str]) -> int:
        done = 0
        with self._write() as tx:
            now = self.clock()
            for job_id in job_ids:
                row = tx.execute(Q["failed_take"], (job_id,)).fetchone()
                if row is None:
                    continue
                failed = FailedJob(*row)
                b = rebuild_retried(job_id, failed.queue, failed.name, failed.body, now)
                tx.execute(
                    Q["retry_job"],
                    (
                        b.id,
                        b.queue,
                        b.priority,
                        b.available_at,
                        b.created_at,
                        b.attempts,
                        b.max_attempts,
                        b.body,
                    ),
                )
                done += 1
        return done

    async def failed_retry_all(self, queue: str | None = None) -> int:
        ids = [f.id for f in await self.failed_list(queue=queue, limit=-1)]
        return await self.failed_retry(ids)

    async def failed_forget(self, job_id: str) -> bool:
        with self._write() as tx:
            return tx.execute(Q["failed_forget"], (job_id,)).rowcount == 1

    async def failed_flush(self, queue: str | None = None) -> int:
        with self._write() as tx:
            if queue is None:
                return tx.execute(Q["failed_flush"]).rowcount
            return tx.execute(Q["failed_flush_queue"], (queue,)).rowcount

    async def failed_prune(self, before: float) -> int:
        with self._write() as tx:
            return tx.execute(Q["failed_prune"], (before,)).rowcount

    async def failed_import(self, records: Sequence[FailedJob]) -> int:
        if not records:
            return 0
        with self._write() as tx:
            # FailedJob's fields are the statement's columns, in order.
            return tx.executemany(Q["failed_import"], [astuple(r) for r in records]).rowcount
