"""Batches: a batch's jobs pushed with its record in one transaction, and its progress
marked as they finish."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace as _replace
from typing import Any

from gello_queue.core.envelope import Envelope
from gello_queue.drivers.postgres.connection import Database
from gello_queue.drivers.postgres.push import job_columns
from gello_queue.ports import BatchRecord


class Batches(Database):
    """The batches part of the port, on the batches and batch jobs tables."""

    async def batch_push(self, record: BatchRecord, envelopes: Sequence[Envelope]) -> list[str]:
        columns, notes = job_columns(envelopes)
        ids = columns[0]
        query = self._q["batch_push"]
        await self._call(
            lambda con: con.execute(
                query, *columns, notes, record.id, record.name, record.total, record.options
            )
        )
        return list(ids)

    async def batch_mark(self, batch_id: str, job_id: str, failed: bool) -> BatchRecord | None:
        rows = await self._fetch("batch_mark", batch_id, job_id, failed)
        if rows:
            return _batch(rows[0])
        return await self.batch_find(batch_id, with_failed=False)  # a repeated mark

    async def batch_find(self, batch_id: str, *, with_failed: bool = True) -> BatchRecord | None:
        if not with_failed:
            rows = await self._fetch("batch_get", batch_id)
            return _batch(rows[0]) if rows else None
        rows = await self._fetch("batch_find", batch_id)
        if not rows:
            return None
        return _replace(_batch(rows[0]), failed_ids=tuple(rows[0][9]))

    async def batch_list(self, *, limit: int = 50, offset: int = 0) -> list[BatchRecord]:
        return [_batch(r) for r in await self._fetch("batch_list", limit, offset)]

    async def batch_cancel(self, batch_id: str, *, cancelled: bool = True) -> bool:
        return await self._execute("batch_cancel", batch_id, cancelled) == 1

    async def batch_prune(self, before: float) -> int:
        return await self._execute("batch_prune", float(before))


def _batch(row: Any) -> BatchRecord:
    return BatchRecord(
        id=str(row[0]),
        name=str(row[1]),
        total=int(row[2]),
        processed=int(row[3]),
        failed=int(row[4]),
        created_at=float(row[5]),
        finished_at=None if row[6] is None else float(row[6]),
        cancelled_at=None if row[7] is None else float(row[7]),
        options=str(row[8]),
    )
