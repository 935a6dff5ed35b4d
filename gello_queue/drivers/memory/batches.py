"""Batches in the memory driver: a record per batch and a mark per finished member."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from gello_queue.core.envelope import Envelope
from gello_queue.drivers.memory.store import MemoryStore, _Batch
from gello_queue.ports import BatchRecord

Push = Callable[[Sequence[Envelope]], Awaitable[list[str]]]


class Batches:
    """Creating, marking, listing, cancelling and pruning batches.

    Members go through ``push``, the driver's own (a subclass's override included), so a
    batch stores its jobs exactly as a plain push would."""

    def __init__(self, store: MemoryStore, push: Push) -> None:
        self.store = store
        self._push = push

    async def batch_push(self, record: BatchRecord, envelopes: Sequence[Envelope]) -> list[str]:
        s = self.store
        with s.lock:
            found = s.batches.get(record.id)
            if found is None:
                s.batches[record.id] = _Batch(replace(record, created_at=s.clock()))
            else:
                found.record = replace(found.record, total=found.record.total + record.total)
            return await self._push([e.with_changes(unique_key=None) for e in envelopes])

    async def batch_mark(self, batch_id: str, job_id: str, failed: bool) -> BatchRecord | None:
        s = self.store
        with s.lock:
            found = s.batches.get(batch_id)
            if found is None:
                return None
            rec = found.record
            before = found.marks.get(job_id)
            if before is None:
                found.marks[job_id] = failed
                rec = replace(
                    rec, processed=rec.processed + (not failed), failed=rec.failed + failed
                )
            elif before and not failed:
                found.marks[job_id] = False
                rec = replace(rec, processed=rec.processed + 1, failed=rec.failed - 1)
            if rec.finished_at is None and rec.processed + rec.failed >= rec.total:
                rec = replace(rec, finished_at=s.clock())
            found.record = rec
            return rec

    async def batch_find(self, batch_id: str, *, with_failed: bool = True) -> BatchRecord | None:
        with self.store.lock:
            found = self.store.batches.get(batch_id)
            if found is None:
                return None
            if not with_failed:
                return found.record
            failed = tuple(sorted(j for j, f in found.marks.items() if f))
            return replace(found.record, failed_ids=failed)

    async def batch_list(self, *, limit: int = 50, offset: int = 0) -> list[BatchRecord]:
        with self.store.lock:
            rows = [b.record for b in self.store.batches.values()]
        rows.sort(key=lambda r: (r.created_at, r.id), reverse=True)
        return rows[offset : offset + limit]

    async def batch_cancel(self, batch_id: str, *, cancelled: bool = True) -> bool:
        s = self.store
        with s.lock:
            found = s.batches.get(batch_id)
            if found is None:
                return False
            if not cancelled:
                found.record = replace(found.record, cancelled_at=None)
            elif found.record.cancelled_at is None:
                found.record = replace(found.record, cancelled_at=s.clock())
            return True

    async def batch_prune(self, before: float) -> int:
        s = self.store
        with s.lock:
            doomed = [
                b.record.id
                for b in s.batches.values()
                if min(b.record.finished_at or before, b.record.cancelled_at or before) < before
            ]
            for batch_id in doomed:
                del s.batches[batch_id]
        return len(doomed)
