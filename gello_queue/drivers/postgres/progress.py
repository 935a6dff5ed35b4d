"""Running jobs' progress, in one table, expired by the database clock."""

from __future__ import annotations

from collections.abc import Sequence

from gello_queue.drivers.postgres.connection import Database
from gello_queue.ports import Progress

_SWEEP_EVERY = 500
"""One put in this many deletes a slice of the expired records."""


class ProgressTable(Database):
    """The ``ProgressStore`` port, on the progress table."""

    _progress_puts = 0
    """Progress records put by this driver, counted for the sweep."""

    async def progress_put(self, job_id: str, progress: Progress, ttl_s: float) -> None:
        await self._execute(
            "progress_put",
            job_id,
            progress.fraction,
            progress.message,
            progress.updated_at,
            float(ttl_s),
        )
        self._progress_puts += 1
        if self._progress_puts % _SWEEP_EVERY == 0:
            await self._execute("progress_sweep")

    async def progress_get(self, job_ids: Sequence[str]) -> dict[str, Progress]:
        if not job_ids:
            return {}
        rows = await self._fetch("progress_get", list(job_ids))
        return {
            str(r["id"]): Progress(float(r["fraction"]), r["message"], float(r["updated_at"]))
            for r in rows
        }
