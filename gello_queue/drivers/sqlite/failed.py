"""The SQLite driver's failed store: jobs that used up their tries, kept until retried,
forgotten or pruned (``gello_failed_jobs``)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import astuple

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
from gello_queue.drivers.common import name_of, prefix_bounds
from gello_queue.drivers.failed_sql import NEWEST_FIRST, Where, step_cursor, where_of
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
                fingerprint_of(name_of(body), failure.exception, failure.message),
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
            # FailedJob's fields are the statement's columns, in order, then the
            # fingerprint.
            rows = [(*astuple(r), fingerprint(r)) for r in records]
            return tx.executemany(Q["failed_import"], rows).rowcount

    # -- filtered queries (see gello_queue.drivers.failed_sql) -----------------------
    def _where(self, query: FailedQuery, cursor: str | None) -> Where:
        if query.fingerprint is not None:
            self._fingerprint_old_rows()
        return where_of(query, cursor, param=lambda _: "?", contains="instr")

    def _fingerprint_old_rows(self) -> None:
        """Give rows stored before fingerprints were theirs (a no-op once done)."""
        while rows := self.db.execute(Q["failed_unprinted"], (BULK_BATCH,)).fetchall():
            with self._write() as tx:
                tx.executemany(
                    Q["failed_set_fingerprint"],
                    [(fingerprint_of(n, e, m), i) for i, n, e, m in rows],
                )

    def _select(self, query: FailedQuery, limit: int, cursor: str | None) -> list[FailedJob]:
        w = self._where(query, cursor)
        sql = f"SELECT {_COLUMNS} FROM gello_failed_jobs {w.sql} {NEWEST_FIRST} LIMIT ?"
        return [FailedJob(*r) for r in self.db.execute(sql, (*w.args, limit)).fetchall()]

    async def failed_search(
        self, query: FailedQuery, *, limit: int = 50, cursor: str | None = None
    ) -> FailedPage:
        rows = self._select(query, limit + 1, cursor)
        return page_of(rows, limit)

    async def failed_tally(self, query: FailedQuery) -> FailedTally:
        w = self._where(query, None)
        sql = f"SELECT COUNT(*) FROM gello_failed_jobs {w.sql}"
        return FailedTally(int(self.db.execute(sql, w.args).fetchone()[0]))

    async def failed_groups(self, query: FailedQuery) -> list[FailureGroup]:
        self._fingerprint_old_rows()
        w = self._where(query, None)
        # A bare column next to max() comes from the row holding the max (SQLite's
        # rule), so name, exception and message are the newest failure's.
        sql = (
            "SELECT fingerprint, COUNT(*), max(failed_at), name, exception, message,"
            f" group_concat(DISTINCT queue) FROM gello_failed_jobs {w.sql} GROUP BY fingerprint"
        )
        groups = [
            FailureGroup(fp, name, exc, msg, int(n), sorted(queues.split(",")), float(at))
            for fp, n, at, name, exc, msg, queues in self.db.execute(sql, w.args).fetchall()
        ]
        return merge_groups([groups])

    async def failed_retry_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        rows = self._select(query, limit, cursor)
        done = await self.failed_retry([r.id for r in rows])
        return FailedStep(done, step_cursor([(r.failed_at, r.id) for r in rows], limit))

    async def failed_purge_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        w = self._where(query, cursor)
        sql = (
            "DELETE FROM gello_failed_jobs WHERE id IN (SELECT id FROM gello_failed_jobs"
            f" {w.sql} {NEWEST_FIRST} LIMIT ?) RETURNING failed_at, id"
        )
        with self._write() as tx:
            rows = [(float(a), str(i)) for a, i in tx.execute(sql, (*w.args, limit)).fetchall()]
        return FailedStep(len(rows), step_cursor(rows, limit))


_COLUMNS = "id, queue, name, body, exception, message, traceback, failed_at, attempts"
