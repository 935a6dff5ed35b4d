"""The SQLite driver's kept job results, in ``gello_results``, judged by the clock of
the machine that holds the file (as leases are)."""

from __future__ import annotations

from gello_queue.drivers.sqlite.connection import SqliteConnection
from gello_queue.drivers.sqlite.sql import Q

_SWEEP_EVERY = 500
"""Puts between two sweeps of expired results."""


class ResultTable(SqliteConnection):
    """The ``ResultStore`` port; ``SqliteDriver`` inherits it."""

    _result_puts = 0
    """Results put by this driver (each instance counts its own from zero)."""

    async def result_put(self, job_id: str, data: str, ttl_s: float) -> None:
        with self._write() as tx:
            now = self.clock()
            tx.execute(Q["result_put"], (job_id, data, now + ttl_s))
            self._result_puts += 1
            if self._result_puts % _SWEEP_EVERY == 0:
                tx.execute(Q["result_sweep"], (now,))

    async def result_get(self, job_id: str) -> str | None:
        row = self.db.execute(Q["result_get"], (job_id, self.clock())).fetchone()
        return None if row is None else str(row[0])
