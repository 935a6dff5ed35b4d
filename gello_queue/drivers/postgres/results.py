"""Kept job results, in one table, judged by the database clock."""

from __future__ import annotations

from gello_queue.drivers.postgres.connection import Database

_SWEEP_EVERY = 500
"""One put in this many deletes a slice of the expired results."""


class Results(Database):
    """The ``ResultStore`` port, on the results table."""

    _result_puts = 0
    """Results put by this driver, counted for the sweep."""

    async def result_put(self, job_id: str, data: str, ttl_s: float) -> None:
        await self._execute("result_put", job_id, data, float(ttl_s))
        self._result_puts += 1
        if self._result_puts % _SWEEP_EVERY == 0:
            await self._execute("result_sweep")

    async def result_get(self, job_id: str) -> str | None:
        data = await self._fetchval("result_get", job_id)
        return None if data is None else str(data)
