"""Pending, scheduled and running jobs searched, counted, cancelled and promoted by a
filter in SQL (the ``JobQueries`` port; see ``gello_queue.drivers.job_sql``)."""

from __future__ import annotations

from gello_queue.core.failed_query import FailedQuery, FailedStep, FailedTally
from gello_queue.core.job_query import CANCELLABLE_STATES, JobPage, oldest_page, step_after
from gello_queue.core.states import JobState
from gello_queue.drivers.failed_sql import Where
from gello_queue.drivers.job_sql import OLDEST_FIRST, job_where
from gello_queue.drivers.sqlite.connection import SqliteConnection
from gello_queue.ports import JobRecord

_COLUMNS = (
    "id, queue, attempts, priority, available_at, created_at, body, reserved_by,"
    " lease_expires_at, token"
)
# The name inside the envelope; a body that is not JSON has none (json_extract would
# raise on it, and CASE keeps it from being called).
_NAME = "CASE WHEN json_valid(body) THEN json_extract(body, '$.name') END"


class JobQueryStore(SqliteConnection):
    """The ``JobQueries`` port; ``SqliteDriver`` inherits it."""

    def _record(self, row: tuple[object, ...], now: float) -> JobRecord:
        raise NotImplementedError  # the driver's, which reads the jobs table

    def _job_where(
        self, state: JobState, query: FailedQuery, cursor: str | None, now: float
    ) -> Where:
        return job_where(
            state, query, cursor, param=lambda _: "?", contains="instr", name=_NAME, now=now
        )

    async def jobs_search(
        self, state: JobState, query: FailedQuery, *, limit: int = 50, cursor: str | None = None
    ) -> JobPage:
        now = self.clock()
        w = self._job_where(state, query, cursor, now)
        sql = f"SELECT {_COLUMNS} FROM gello_jobs {w.sql} {OLDEST_FIRST} LIMIT ?"
        rows = self.db.execute(sql, (*w.args, limit + 1)).fetchall()
        return oldest_page([self._record(r, now) for r in rows], limit)

    async def jobs_tally(self, state: JobState, query: FailedQuery) -> FailedTally:
        w = self._job_where(state, query, None, self.clock())
        sql = f"SELECT COUNT(*) FROM gello_jobs {w.sql}"
        return FailedTally(int(self.db.execute(sql, w.args).fetchone()[0]))

    async def jobs_cancel_step(
        self, state: JobState, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        if state not in CANCELLABLE_STATES:
            return FailedStep(0, None)
        w = self._job_where(state, query, cursor, self.clock())
        sql = (
            "DELETE FROM gello_jobs WHERE id IN (SELECT id FROM gello_jobs"
            f" {w.sql} {OLDEST_FIRST} LIMIT ?) RETURNING available_at, id"
        )
        with self._write() as tx:
            rows = [(float(a), str(i)) for a, i in tx.execute(sql, (*w.args, limit)).fetchall()]
        return FailedStep(len(rows), step_after(rows, limit))

    async def jobs_promote_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        now = self.clock()
        w = self._job_where(JobState.SCHEDULED, query, cursor, now)
        pick = f"SELECT available_at, id FROM gello_jobs {w.sql} {OLDEST_FIRST} LIMIT ?"
        with self._write() as tx:
            rows = [(float(a), str(i)) for a, i in tx.execute(pick, (*w.args, limit)).fetchall()]
            tx.executemany(
                "UPDATE gello_jobs SET available_at = ? WHERE id = ? AND token IS NULL",
                [(now, i) for _, i in rows],
            )
        return FailedStep(len(rows), step_after(rows, limit))
