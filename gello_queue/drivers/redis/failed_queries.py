"""Filtered failed-store queries on Redis, on the per-queue indexes (see ``keys.py``).

A filter by job name, exception or fingerprint picks the fingerprints it keeps (each
stands for one name and one exception), and ``failed_query.lua`` walks their zsets
merged from a (failed_at, id) cursor, so a page never reads the rows before it. Free
text has no index: the walk checks each job's text and stops at a time budget, saying
where it stopped. Counts and groups read one hash field per fingerprint.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gello_queue.core.failed_query import (
    FailedPage,
    FailedQuery,
    FailedStep,
    FailedTally,
    FailureGroup,
    cursor_of,
    fingerprint_of,
    groups_of,
    merge_groups,
    merge_pages,
    parse_cursor,
)
from gello_queue.core.tags import tag_needle
from gello_queue.drivers.common import name_of
from gello_queue.drivers.redis.keys import QueueKeys
from gello_queue.drivers.redis.link import Link
from gello_queue.drivers.redis.scripts import BATCH, Call, run
from gello_queue.ports import FailedJob

PAGE_BUDGET_S = 0.25
"""How long one page of a free-text search may look at jobs, over every queue."""

COUNT_BUDGET_S = 2.0
"""How long a free-text count may look before it answers with a lower bound."""

_TODO_BATCH = 500
"""Jobs failed by a script alone indexed per call."""


@dataclass(frozen=True, slots=True)
class _Plan:
    """Where one queue's share of a query is read."""

    queue: str
    keys: QueueKeys
    sources: list[str]
    """The zsets to walk: the queue's failed zset, or its fingerprints' zsets."""


class FailedQueries:
    """Search, count, group, and bulk steps of the failed store."""

    def __init__(self, link: Link, retry: Callable[[Sequence[FailedJob]], Awaitable[int]]):
        self._link = link
        self._k = link.keys
        self._retry = retry

    # -- keeping the indexes whole ---------------------------------------------------
    async def _queues(self, query: FailedQuery) -> list[str]:
        queues = [query.queue] if query.queue is not None else await self._link.known()
        await self._index_pending(queues)
        return queues

    async def _index_pending(self, queues: Sequence[str]) -> None:
        """Index the failures scripts stored without a fingerprint, and, once per queue,
        those stored before the indexes existed."""
        if not queues:
            return
        calls: list[Call] = []
        for q in queues:
            x = self._k.of(q).failed_index
            calls += [(None, (), ("EXISTS", x + "v")), (None, (), ("SCARD", x + "todo"))]
        found = await run(self._link.redis, calls)
        for i, q in enumerate(queues):
            scanned, waiting = found[2 * i], found[2 * i + 1]
            k = self._k.of(q)
            if not scanned:
                waiting += await self._link.scripts["failed_index"](
                    (k.failed,), (k.failed_job, "scan")
                )
            while waiting:
                ids = await self._link.redis.execute_command(
                    "SRANDMEMBER", k.failed_index + "todo", _TODO_BATCH
                )
                if not ids:
                    break
                rows = await self._link.scripts["failed_page"](
                    (k.failed,), (k.failed_job, "id", *ids)
                )
                found_ids = {row[0] for row in rows}
                entries: list[Any] = []
                for job_id, _, body, exception, message, *_ in rows:
                    name = name_of(body)
                    entries += (job_id, name, fingerprint_of(name, exception, message))
                # Ids whose job is gone are taken off the list too.
                entries += [v for gone in ids if gone not in found_ids for v in (gone, "?", "")]
                await self._link.scripts["failed_index"](
                    (k.failed,), (k.failed_job, "add", *entries)
                )
                waiting = len(ids) == _TODO_BATCH

    async def _plans(self, query: FailedQuery) -> list[_Plan]:
        queues = await self._queues(query)
        if query.name is None and query.exception is None and query.fingerprint is None:
            return [_Plan(q, k, [k.failed]) for q in queues for k in [self._k.of(q)]]
        calls: list[Call] = []
        for q in queues:
            x = self._k.of(q).failed_index
            calls += [(None, (), ("HGETALL", x + "name")), (None, (), ("HGETALL", x + "exc"))]
        found = await run(self._link.redis, calls)
        plans = []
        for i, q in enumerate(queues):
            names, excs = _mapping(found[2 * i]), _mapping(found[2 * i + 1])
            k = self._k.of(q)
            picked = [
                k.failed_index + "f:" + fp
                for fp, name in names.items()
                if _keeps(query, fp, name, excs.get(fp, ""))
            ]
            if picked:
                plans.append(_Plan(q, k, picked))
        return plans

    # -- reading ---------------------------------------------------------------------
    async def _walk(
        self,
        query: FailedQuery,
        *,
        limit: int,
        cursor: str | None,
        rows: bool,
        budget_s: float = PAGE_BUDGET_S,
        spread: bool = False,
    ) -> FailedPage:
        """One page merged over the queues. With ``spread`` (a bulk step, where a short
        page is fine), each queue reads its share of ``limit`` only: fewer rows are read
        past the merged page's end, which is cut where the first queue stopped."""
        return await self._walk_plans(
            await self._plans(query),
            query,
            limit=limit,
            cursor=cursor,
            rows=rows,
            budget_s=budget_s,
            spread=spread,
        )

    async def _walk_plans(
        self,
        plans: list[_Plan],
        query: FailedQuery,
        *,
        limit: int,
        cursor: str | None,
        rows: bool,
        budget_s: float,
        spread: bool,
    ) -> FailedPage:
        if not plans:
            return FailedPage()
        each = max(100, limit // len(plans)) if spread else limit
        high, low, at, after_id = _bounds(query, cursor)
        text = "" if query.text is None else query.text.lower()
        needle = "" if query.tag is None else tag_needle(query.tag)
        budget_ms = max(20, int(budget_s * 1000 / len(plans)))
        script = self._link.scripts["failed_query"]
        calls: list[Call] = [
            (
                script,
                (p.keys.failed,),
                (
                    p.keys.failed_job,
                    each,
                    high,
                    low,
                    at,
                    after_id,
                    text,
                    budget_ms,
                    "rows" if rows else "ids",
                    needle,
                    *p.sources,
                ),
            )
            for p in plans
        ]
        pages = [
            _page(p.queue, reply)
            for p, reply in zip(plans, await run(self._link.redis, calls), strict=True)
        ]
        return merge_pages(pages, limit)

    async def search(self, query: FailedQuery, limit: int, cursor: str | None) -> FailedPage:
        return await self._walk(query, limit=limit, cursor=cursor, rows=True)

    async def tally(self, query: FailedQuery) -> FailedTally:
        if not query.indexed:
            return await self._count_text(query)
        if query.name is None and query.exception is None and query.fingerprint is None:
            queues = await self._queues(query)
            low, high = _range(query)
            calls: list[Call] = [
                (None, (), ("ZCOUNT", self._k.of(q).failed, low, high)) for q in queues
            ]
            return FailedTally(sum(await run(self._link.redis, calls)) if calls else 0)
        return FailedTally(sum(g.count for g in await self.groups(query)))

    async def _count_text(self, query: FailedQuery) -> FailedTally:
        # No index holds text: count page by page until the end or the budget, one queue
        # at a time (each from its own cursor, so none is read twice).
        deadline = time.monotonic() + COUNT_BUDGET_S
        count = 0
        for plan in await self._plans(query):
            cursor = None
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return FailedTally(count, complete=False)
                page = await self._walk_plans(
                    [plan],
                    query,
                    limit=BATCH,
                    cursor=cursor,
                    rows=False,
                    budget_s=left,
                    spread=False,
                )
                count += len(page.jobs)
                if page.cursor is None:
                    break
                cursor = page.cursor
        return FailedTally(count)

    async def groups(self, query: FailedQuery) -> list[FailureGroup]:
        if not query.indexed:
            return await self._groups_of_text(query)
        queues = await self._queues(query)
        if not queues:
            return []
        low, high = _range(query)
        name = "" if query.name is None else query.name.lower()
        exception = "" if query.exception is None else query.exception.lower()
        script = self._link.scripts["failed_groups"]
        calls: list[Call] = []
        for q in queues:
            k = self._k.of(q)
            calls.append(
                (
                    script,
                    (k.failed_index + "n",),
                    (k.failed_job, low, high, query.fingerprint or "", name, exception),
                )
            )
        parts = [
            [
                FailureGroup(str(fp), str(n), str(e), str(m), int(c), [q], float(at))
                for fp, n, e, m, c, at in reply
            ]
            for q, reply in zip(queues, await run(self._link.redis, calls), strict=True)
        ]
        return merge_groups(parts)

    async def _groups_of_text(self, query: FailedQuery) -> list[FailureGroup]:
        # Every selected job must be read: page through them all, however long it takes.
        jobs: list[FailedJob] = []
        cursor: str | None = None
        while True:
            page = await self._walk(query, limit=BATCH, cursor=cursor, rows=True)
            jobs += page.jobs
            if page.cursor is None:
                return groups_of(jobs)
            cursor = page.cursor

    # -- bulk steps ------------------------------------------------------------------
    async def retry_step(self, query: FailedQuery, limit: int, cursor: str | None) -> FailedStep:
        page = await self._walk(query, limit=limit, cursor=cursor, rows=True, spread=True)
        return FailedStep(await self._retry(page.jobs), page.cursor)

    async def purge_step(self, query: FailedQuery, limit: int, cursor: str | None) -> FailedStep:
        page = await self._walk(query, limit=limit, cursor=cursor, rows=False, spread=True)
        by_queue: dict[str, list[str]] = {}
        for job in page.jobs:
            by_queue.setdefault(job.queue, []).append(job.id)
        script = self._link.scripts["failed_delete"]
        calls: list[Call] = []
        for q, ids in by_queue.items():
            k = self._k.of(q)
            calls.append((script, (k.failed,), (k.failed_job, "ids", *ids)))
        done = sum(await run(self._link.redis, calls)) if calls else 0
        return FailedStep(done, page.cursor)


def _mapping(reply: Any) -> dict[str, str]:
    """A HGETALL reply as a dict, whichever form the client gives it in."""
    if isinstance(reply, dict):
        return {str(k): str(v) for k, v in reply.items()}
    return {str(reply[i]): str(reply[i + 1]) for i in range(0, len(reply), 2)}


def _keeps(query: FailedQuery, fp: str, name: str, exception: str) -> bool:
    """Whether the filter keeps the failures of fingerprint ``fp`` (its name and
    exception are those of every failure that has it)."""
    if query.fingerprint is not None and fp != query.fingerprint:
        return False
    if query.name is not None and query.name.lower() not in name.lower():
        return False
    return query.exception is None or query.exception.lower() in exception.lower()


def _range(query: FailedQuery) -> tuple[str, str]:
    """The score range of the query's age bounds, as ZRANGEBYSCORE takes it."""
    low = "-inf" if query.after is None else repr(float(query.after))
    high = "+inf" if query.before is None else "(" + repr(float(query.before))
    return low, high


def _bounds(query: FailedQuery, cursor: str | None) -> tuple[str, str, str, str]:
    """(max, min, cursor score, cursor id) for ``failed_query.lua``."""
    low, high = _range(query)
    if cursor is None:
        return high, low, "", ""
    at, job_id = parse_cursor(cursor)
    if query.before is not None and at >= query.before:
        return high, low, "", ""
    return repr(at), low, repr(at), job_id


def _page(queue: str, reply: Sequence[Any]) -> FailedPage:
    state, at, job_id, *rows = reply
    jobs = [_row(queue, row) for row in rows]
    cursor = None if state == "end" else cursor_of(float(at), str(job_id))
    return FailedPage(jobs, cursor, complete=state != "budget")


def _row(queue: str, row: Sequence[Any]) -> FailedJob:
    # failed_at is the index's score, so a cursor made from a row names that row exactly.
    if len(row) == 2:
        return FailedJob(str(row[0]), queue, "", "", "", "", "", float(row[1]), 0)
    job_id, score, _, body, exception, message, traceback, attempts, name = row
    return FailedJob(
        id=str(job_id),
        queue=queue,
        name=str(name) or name_of(body),
        body=str(body),
        exception=str(exception),
        message=str(message),
        traceback=str(traceback),
        failed_at=float(score),
        attempts=int(attempts),
    )
