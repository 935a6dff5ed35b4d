"""Pending, scheduled and running jobs searched, counted, cancelled and promoted by a
filter in SQL (the ``JobQueries`` port; see ``gello_queue.drivers.job_sql``)."""

from __future__ import annotations

from typing import Any

from gello_queue.core.failed_query import FailedQuery, FailedStep, FailedTally
from gello_queue.core.job_query import CANCELLABLE_STATES, JobPage, oldest_page, step_after
from gello_queue.core.states import JobState
from gello_queue.drivers.failed_sql import Where
from gello_queue.drivers.job_sql import OLDEST_FIRST, job_where
from gello_queue.drivers.postgres.connection import Database
from gello_queue.drivers.postgres.inspection import _record

_NOW = "date_part('epoch', now())"
_COLUMNS = (
    "id, queue, attempts, priority, available_at, created_at, body, reserved_by,"
    f" lease_expires_at, token IS NOT NULL, {_NOW}"
)
# The name inside the envelope: the body is text (never parsed on insert), and an
# envelope is written with "name" second, after an id that holds no quote, so the first
# "name" key is the envelope's. A body that is not an envelope has none (NULL).
_NAME = """substring(body from '"name":"((?:[^"\\\\]|\\\\.)*)"')"""


class JobQueryTable(Database):
    """The ``JobQueries`` port; ``PostgresDriver`` inherits it."""

    def _job_where(
        self, state: JobState, query: FailedQuery, cursor: str | None, first: int = 1
    ) -> Where:
        return job_where(
            state,
            query,
            cursor,
            param=lambda n: f"${n + first - 1}",
            contains="strpos",
            name=_NAME,
            now=_NOW,
        )

    async def _job_rows(self, sql: str, args: tuple[object, ...]) -> list[Any]:
        text = self.names.render(sql)
        rows: list[Any] = await self._call(lambda con: con.fetch(text, *args))
        return rows

    async def jobs_search(
        self, state: JobState, query: FailedQuery, *, limit: int = 50, cursor: str | None = None
    ) -> JobPage:
        w = self._job_where(state, query, cursor, first=2)
        sql = f"SELECT {_COLUMNS} FROM {{{{jobs}}}} {w.sql} {OLDEST_FIRST} LIMIT $1"
        rows = await self._job_rows(sql, (limit + 1, *w.args))
        return oldest_page([_record(r) for r in rows], limit)

    async def jobs_tally(self, state: JobState, query: FailedQuery) -> FailedTally:
        w = self._job_where(state, query, None)
        rows = await self._job_rows(f"SELECT count(*) FROM {{{{jobs}}}} {w.sql}", tuple(w.args))
        return FailedTally(int(rows[0][0]))

    async def jobs_cancel_step(
        self, state: JobState, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        if state not in CANCELLABLE_STATES:
            return FailedStep(0, None)
        w = self._job_where(state, query, cursor, first=2)
        sql = (
            "DELETE FROM {{jobs}} WHERE id IN (SELECT id FROM {{jobs}}"
            f" {w.sql} {OLDEST_FIRST} LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING available_at, id"
        )
        rows = [(float(r[0]), str(r[1])) for r in await self._job_rows(sql, (limit, *w.args))]
        return FailedStep(len(rows), step_after(rows, limit))

    async def jobs_promote_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        w = self._job_where(JobState.SCHEDULED, query, cursor, first=2)
        # Workers waiting on a queue are woken as by ``promote``: one notice per queue.
        sql = (
            f"WITH picked AS (SELECT id, available_at FROM {{{{jobs}}}} {w.sql} {OLDEST_FIRST}"
            " LIMIT $1 FOR UPDATE SKIP LOCKED),"
            f" u AS (UPDATE {{{{jobs}}}} j SET available_at = {_NOW} FROM picked p"
            " WHERE j.id = p.id RETURNING p.available_at AS was, j.id, j.queue,"
            " j.available_at),"
            " n AS (SELECT pg_notify({{=channel}}, max(available_at)::text || ' ' || queue)"
            " FROM u GROUP BY queue)"
            " SELECT was, id FROM u WHERE (SELECT count(*) FROM n) >= 0"
        )
        rows = [(float(r[0]), str(r[1])) for r in await self._job_rows(sql, (limit, *w.args))]
        return FailedStep(len(rows), step_after(rows, limit))
