"""The memory driver's failed store: listing, retrying, forgetting, pruning, importing."""

from __future__ import annotations

from collections.abc import Sequence

from gello_queue.core.failed_query import (
    FailedPage,
    FailedQuery,
    FailedStep,
    FailedTally,
    FailureGroup,
    cursor_of,
    groups_of,
    newest_first,
    page_of,
)
from gello_queue.core.failed_retry import rebuild_retried
from gello_queue.drivers.memory.store import MemoryStore, _Job
from gello_queue.ports import FailedJob


class FailedStore:
    """Failed jobs, kept by id in the store; retrying one files it to wait again."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def failed_list(
        self, *, queue: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[FailedJob]:
        with self.store.lock:
            rows = [f for f in self.store.failed.values() if queue is None or f.queue == queue]
        rows.sort(key=lambda f: (f.failed_at, f.id), reverse=True)
        return rows[offset : offset + limit]

    async def failed_count(self, queue: str | None = None) -> int:
        with self.store.lock:
            return sum(1 for f in self.store.failed.values() if queue is None or f.queue == queue)

    async def failed_ids_by_prefix(self, prefix: str, limit: int) -> list[str]:
        with self.store.lock:
            return sorted(i for i in self.store.failed if i.startswith(prefix))[:limit]

    async def failed_find(self, job_id: str) -> FailedJob | None:
        return self.store.failed.get(job_id)

    async def failed_retry(self, job_ids: Sequence[str]) -> int:
        s = self.store
        done = 0
        with s.lock:
            now = s.clock()
            for job_id in job_ids:
                failed = s.failed.pop(job_id, None)
                if failed is None:
                    continue
                back = rebuild_retried(job_id, failed.queue, failed.name, failed.body, now)
                s.jobs[job_id] = _Job(
                    id=back.id,
                    queue=back.queue,
                    priority=back.priority,
                    available_at=back.available_at,
                    created_at=back.created_at,
                    attempts=back.attempts,
                    max_attempts=back.max_attempts,
                    body=back.body,
                )
                s.file(s.jobs[job_id])
                done += 1
            s.version += 1
        return done

    async def failed_retry_all(self, queue: str | None = None) -> int:
        with self.store.lock:
            ids = [f.id for f in self.store.failed.values() if queue is None or f.queue == queue]
            return await self.failed_retry(ids)

    async def failed_forget(self, job_id: str) -> bool:
        with self.store.lock:
            return self.store.failed.pop(job_id, None) is not None

    async def failed_flush(self, queue: str | None = None) -> int:
        with self.store.lock:
            ids = [f.id for f in self.store.failed.values() if queue is None or f.queue == queue]
            for job_id in ids:
                del self.store.failed[job_id]
        return len(ids)

    async def failed_prune(self, before: float) -> int:
        with self.store.lock:
            ids = [f.id for f in self.store.failed.values() if f.failed_at < before]
            for job_id in ids:
                del self.store.failed[job_id]
        return len(ids)

    async def failed_import(self, records: Sequence[FailedJob]) -> int:
        added = 0
        with self.store.lock:
            for record in records:
                if record.id not in self.store.failed:
                    self.store.failed[record.id] = record
                    added += 1
        return added

    def _selected(self, query: FailedQuery, cursor: str | None) -> list[FailedJob]:
        with self.store.lock:
            rows = list(self.store.failed.values())
        return newest_first(rows, query, cursor)

    async def failed_search(
        self, query: FailedQuery, *, limit: int = 50, cursor: str | None = None
    ) -> FailedPage:
        return page_of(self._selected(query, cursor), limit)

    async def failed_tally(self, query: FailedQuery) -> FailedTally:
        return FailedTally(len(self._selected(query, None)))

    async def failed_groups(self, query: FailedQuery) -> list[FailureGroup]:
        return groups_of(self._selected(query, None))

    async def failed_retry_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        rows = self._selected(query, cursor)[:limit]
        done = await self.failed_retry([r.id for r in rows])
        return FailedStep(done, _next(rows, limit))

    async def failed_purge_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        rows = self._selected(query, cursor)[:limit]
        with self.store.lock:
            done = sum(self.store.failed.pop(r.id, None) is not None for r in rows)
        return FailedStep(done, _next(rows, limit))


def _next(rows: list[FailedJob], limit: int) -> str | None:
    """The cursor after a step over ``rows`` (None when it found fewer than it could take)."""
    return cursor_of(rows[-1].failed_at, rows[-1].id) if len(rows) >= limit else None
