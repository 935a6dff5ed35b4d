"""The SQLite driver's batches: a record per batch (``gello_batches``) and one mark per
job of it that ran to an end (``gello_batch_jobs``), so marks are idempotent per job."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from gello_queue.core.envelope import Envelope
from gello_queue.drivers.sqlite.connection import SqliteConnection, job_row
from gello_queue.drivers.sqlite.sql import Q
from gello_queue.ports import BatchRecord


class BatchStore(SqliteConnection):
    """The batches half of the port; ``SqliteDriver`` inherits it."""

    async def batch_push(self, record: BatchRecord, envelopes: Sequence[Envelope]) -> list[str]:
        with self._write() as tx:
            tx.execute(
                Q["batch_upsert"],
                (record.id, record.name, record.total, self.clock(), record.options),
            )
            tx.executemany(Q["insert_job"], [job_row(e) for e in envelopes])
        return [e.id for e in envelopes]

    async def batch_mark(self, batch_id: str, job_id: str, failed: bool) -> BatchRecord | None:
        with self._write() as tx:
            if tx.execute(Q["batch_exists"], (batch_id,)).fetchone() is None:
                return None
            prev = tx.execute(Q["batch_job_mark"], (batch_id, job_id)).fetchone()
            if prev is None:
                tx.execute(Q["batch_job_insert"], (batch_id, job_id, int(failed)))
                count = "batch_count_failed" if failed else "batch_count_processed"
                tx.execute(Q[count], (batch_id,))
            elif prev[0] and not failed:
                # A job that failed and then succeeded (retried by hand) counts as processed.
                tx.execute(Q["batch_job_unfail"], (batch_id, job_id))
                tx.execute(Q["batch_failed_to_processed"], (batch_id,))
            row = tx.execute(Q["batch_finish"], (self.clock(), batch_id)).fetchone()
            return _batch(row)

    async def batch_find(self, batch_id: str, *, with_failed: bool = True) -> BatchRecord | None:
        row = self.db.execute(Q["batch_find"], (batch_id,)).fetchone()
        if row is None or not with_failed:
            return None if row is None else _batch(row)
        failed = self.db.execute(Q["batch_failed_ids"], (batch_id,)).fetchall()
        return replace(_batch(row), failed_ids=tuple(r[0] for r in failed))

    async def batch_list(self, *, limit: int = 50, offset: int = 0) -> list[BatchRecord]:
        rows = self.db.execute(Q["batch_list"], (limit, offset)).fetchall()
        return [_batch(r) for r in rows]

    async def batch_cancel(self, batch_id: str, *, cancelled: bool = True) -> bool:
        with self._write() as tx:
            cur = tx.execute(Q["batch_cancel"], (int(cancelled), self.clock(), batch_id))
            return cur.rowcount == 1

    async def batch_prune(self, before: float) -> int:
        with self._write() as tx:
            doomed = [r[0] for r in tx.execute(Q["batch_prunable"], (before,)).fetchall()]
            for batch_id in doomed:
                tx.execute(Q["batch_jobs_delete"], (batch_id,))
                tx.execute(Q["batch_delete"], (batch_id,))
            return len(doomed)


def _batch(row: tuple[object, ...]) -> BatchRecord:
    bid, name, total, processed, failed, created, finished, cancelled, options = row
    return BatchRecord(
        id=str(bid),
        name=str(name),
        total=int(total),  # type: ignore[call-overload]
        processed=int(processed),  # type: ignore[call-overload]
        failed=int(failed),  # type: ignore[call-overload]
        created_at=float(created),  # type: ignore[arg-type]
        finished_at=None if finished is None else float(finished),  # type: ignore[arg-type]
        cancelled_at=None if cancelled is None else float(cancelled),  # type: ignore[arg-type]
        options=str(options),
    )
