"""The failed store on Redis: each queue's share lives in the queue's slot.

A job fails inside the fail (or reserve, or rescue) script of its queue, so moving it to
the failed store is atomic even on a cluster. Listing every queue newest first merges the
per-queue indexes; a call by id asks every known queue in one pipelined round trip; bulk
calls go ``BATCH`` jobs per script call, so no script holds the server for long.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gello_queue.core.failed_query import (
    FailedPage,
    FailedQuery,
    FailedStep,
    FailedTally,
    FailureGroup,
    fingerprint,
)
from gello_queue.core.failed_retry import rebuild_retried
from gello_queue.drivers.common import name_of
from gello_queue.drivers.redis.failed_queries import FailedQueries
from gello_queue.drivers.redis.link import Link
from gello_queue.drivers.redis.scripts import BATCH, Call, run
from gello_queue.ports import FailedJob


class FailedStore:
    """Listing, retrying, forgetting, pruning and importing failed jobs."""

    def __init__(self, link: Link) -> None:
        self._link = link
        self._k = link.keys
        self._queries = FailedQueries(link, self._retry)

    async def failed_search(
        self, query: FailedQuery, *, limit: int = 50, cursor: str | None = None
    ) -> FailedPage:
        return await self._queries.search(query, limit, cursor)

    async def failed_tally(self, query: FailedQuery) -> FailedTally:
        return await self._queries.tally(query)

    async def failed_groups(self, query: FailedQuery) -> list[FailureGroup]:
        return await self._queries.groups(query)

    async def failed_retry_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        return await self._queries.retry_step(query, limit, cursor)

    async def failed_purge_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        return await self._queries.purge_step(query, limit, cursor)

    async def failed_list(
        self, *, queue: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[FailedJob]:
        queues = [queue] if queue is not None else await self._link.known()
        if not queues:
            return []
        stop = offset + limit - 1 if limit >= 0 else -1
        script = self._link.scripts["failed_page"]
        calls: list[Call] = []
        for q in queues:
            k = self._k.of(q)
            calls.append((script, (k.failed,), (k.failed_job, 0, stop)))
        rows = [_failed(row) for part in await run(self._link.redis, calls) for row in part]
        if len(queues) > 1:
            rows.sort(key=lambda f: (f.failed_at, f.id), reverse=True)
        return rows[offset:] if stop < 0 else rows[offset : stop + 1]

    async def failed_count(self, queue: str | None = None) -> int:
        queues = [queue] if queue is not None else await self._link.known()
        if not queues:
            return 0
        calls: list[Call] = [(None, (), ("ZCARD", self._k.of(q).failed)) for q in queues]
        return sum(await run(self._link.redis, calls))

    async def _failed_by_id(self, job_ids: Sequence[str]) -> list[FailedJob]:
        if not job_ids:
            return []
        results = await self._link.each_queue(
            "failed_page", lambda k: ((k.failed,), (k.failed_job, "id", *job_ids))
        )
        return [_failed(row) for _, part in results for row in part]

    async def failed_ids_by_prefix(self, prefix: str, limit: int) -> list[str]:
        # Each queue's failed index is scored by time, so a prefix is a ZSCAN MATCH over
        # it: bounded by the failed store (capped by retention), never the keyspace.
        return await self._link.ids_by_prefix(prefix, limit, lambda k: (k.failed,))

    async def failed_find(self, job_id: str) -> FailedJob | None:
        found = await self._failed_by_id([job_id])
        return found[0] if found else None

    async def failed_retry(self, job_ids: Sequence[str]) -> int:
        total = 0
        for start in range(0, len(job_ids), BATCH):
            total += await self._retry(await self._failed_by_id(job_ids[start : start + BATCH]))
        return total

    async def _retry(self, failed: Sequence[FailedJob]) -> int:
        if not failed:
            return 0
        now = await self._link.now()
        groups: dict[str, list[Any]] = {}
        for job in failed:
            b = rebuild_retried(job.id, job.queue, job.name, job.body, now)
            entry = (b.id, b.body, b.priority, b.max_attempts, repr(b.created_at))
            groups.setdefault(b.queue, []).extend(entry)
        script = self._link.scripts["failed_retry"]
        calls: list[Call] = []
        for queue, entries in groups.items():
            k = self._k.of(queue)
            calls.append((script, (k.ready, k.failed, k.wake), (k.job, k.failed_job, *entries)))
        return sum(await run(self._link.redis, calls))

    async def failed_retry_all(self, queue: str | None = None) -> int:
        queues = [queue] if queue is not None else await self._link.known()
        total = 0
        for q in queues:
            ids = await self._link.redis.execute_command("ZRANGE", self._k.of(q).failed, 0, -1)
            for start in range(0, len(ids), BATCH):
                rows = await run(
                    self._link.redis,
                    [
                        (
                            self._link.scripts["failed_page"],
                            (self._k.of(q).failed,),
                            (self._k.of(q).failed_job, "id", *ids[start : start + BATCH]),
                        )
                    ],
                )
                total += await self._retry([_failed(row) for row in rows[0]])
        return total

    async def failed_forget(self, job_id: str) -> bool:
        results = await self._link.each_queue(
            "failed_delete", lambda k: ((k.failed,), (k.failed_job, "ids", job_id))
        )
        return any(n for _, n in results)

    async def _delete(self, queues: Sequence[str], *mode: Any) -> int:
        total = 0
        script = self._link.scripts["failed_delete"]
        while queues:
            calls: list[Call] = []
            for q in queues:
                k = self._k.of(q)
                calls.append((script, (k.failed,), (k.failed_job, *mode)))
            results = await run(self._link.redis, calls)
            total += sum(results)
            queues = [q for q, n in zip(queues, results, strict=True) if n >= BATCH]
        return total

    async def failed_flush(self, queue: str | None = None) -> int:
        queues = [queue] if queue is not None else await self._link.known()
        return await self._delete(queues, "all", BATCH)

    async def failed_prune(self, before: float) -> int:
        return await self._delete(await self._link.known(), "before", repr(before), BATCH)

    async def failed_import(self, records: Sequence[FailedJob]) -> int:
        added = 0
        for start in range(0, len(records), BATCH):
            added += await self._import(records[start : start + BATCH])
        return added

    async def _import(self, records: Sequence[FailedJob]) -> int:
        # The failed store is kept per queue: an id that another queue's share holds is
        # skipped too, so a job never has two failed records.
        held = {f.id for f in await self._failed_by_id([r.id for r in records])}
        groups: dict[str, list[Any]] = {}
        for r in records:
            if r.id not in held:
                held.add(r.id)
                failure = (r.exception, r.message, r.traceback, repr(r.failed_at), r.attempts)
                index = (r.name, fingerprint(r))
                groups.setdefault(r.queue, []).extend((r.id, r.body, *failure, *index))
        if not groups:
            return 0
        # Known first (as push does), so listing and pruning see the queue's failed jobs.
        calls: list[Call] = [(None, (), ("SADD", self._k.queues, *groups))]
        script = self._link.scripts["failed_import"]
        for queue, entries in groups.items():
            k = self._k.of(queue)
            calls.append((script, (k.failed,), (k.failed_job, queue, *entries)))
        return sum((await run(self._link.redis, calls))[1:])


def _failed(row: Sequence[Any]) -> FailedJob:
    job_id, queue, body, exception, message, traceback, failed_at, attempts = row
    return FailedJob(
        id=job_id,
        queue=queue,
        name=name_of(body),
        body=body,
        exception=exception,
        message=message,
        traceback=traceback,
        failed_at=float(failed_at),
        attempts=int(attempts),
    )
