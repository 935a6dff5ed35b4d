"""The SQLite driver's store of running jobs' progress, in ``gello_progress``, judged by
the clock of the machine that holds the file (as results are)."""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from gello_queue.drivers.sqlite.connection import SqliteConnection
from gello_queue.drivers.sqlite.sql import Q
from gello_queue.ports import Progress

_SWEEP_EVERY = 500
"""Puts between two sweeps of expired records."""


class ProgressTable(SqliteConnection):
    """The ``ProgressStore`` port; ``SqliteDriver`` inherits it."""

    _progress_puts = 0
    """Progress records put by this driver (each instance counts its own from zero)."""

    async def progress_put(self, job_id: str, progress: Progress, ttl_s: float) -> None:
        with self._write() as tx:
            now = self.clock()
            row = (job_id, progress.fraction, progress.message, progress.updated_at, now + ttl_s)
            tx.execute(Q["progress_put"], row)
            self._progress_puts += 1
            if self._progress_puts % _SWEEP_EVERY == 0:
                tx.execute(Q["progress_sweep"], (now,))

    async def progress_get(self, job_ids: Sequence[str]) -> dict[str, Progress]:
        if not job_ids:
            return {}
        ids = orjson.dumps(list(job_ids)).decode()
        rows = self.db.execute(Q["progress_get"], (ids, self.clock())).fetchall()
        return {str(r[0]): Progress(float(r[1]), r[2], float(r[3])) for r in rows}
