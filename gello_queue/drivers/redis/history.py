"""The completed-job history on Redis: one zset per queue, in the queue's slot, so the
ack script keeps and trims it in the same call (see ``ack_recording.lua``). Reading every
queue merges the per-queue zsets, in one pipelined round trip."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from gello_queue.drivers.common import pick_recent
from gello_queue.drivers.redis.link import Link
from gello_queue.drivers.redis.scripts import Call, run
from gello_queue.ports import CompletedJob, Reservation


class History:
    """``JobHistory`` on the ``done`` zset of each queue."""

    def __init__(self, link: Link) -> None:
        self._link = link
        self._k = link.keys

    async def ack_recording(
        self, reservations: Sequence[Reservation], completed: Sequence[CompletedJob], keep: int
    ) -> list[str]:
        pairs: dict[str, list[Any]] = {}
        records: dict[str, list[Any]] = {}
        for res in reservations:
            pairs.setdefault(res.queue, []).extend((res.id, res.token))
        for c in completed:
            flag = "1" if c.monitored else "0"
            records.setdefault(c.queue, []).extend((repr(c.finished_at), c.id, c.to_json(), flag))
        script = self._link.scripts["ack_recording"]
        calls: list[Call] = []
        for queue in pairs.keys() | records.keys():
            k = self._k.of(queue)
            acks, kept = pairs.get(queue, []), records.get(queue, [])
            args = (k.job, k.unique, keep, len(acks), *acks, *kept)
            calls.append((script, (k.reserved, k.done, k.watched), args))
        listed = len(calls)
        for queue in records.keys() - pairs.keys():
            # Records of jobs acked elsewhere (a broker's): the queue must be known for
            # the history to be read without naming it.
            calls.append((None, (), ("SADD", self._k.queues, queue)))
        if not calls:
            return []
        answers = await run(self._link.redis, calls)
        return [job_id for lost in answers[:listed] for job_id in lost]

    async def _queues(self, queue: str | None) -> list[str]:
        return [queue] if queue is not None else await self._link.known()

    async def recent(
        self,
        *,
        queue: str | None = None,
        name: str | None = None,
        limit: int = 50,
        since: float | None = None,
        tag: str | None = None,
    ) -> list[CompletedJob]:
        queues = await self._queues(queue)
        if not queues or limit <= 0:
            return []
        floor = "-inf" if since is None else repr(since)
        # A name or tag filter reads each queue's whole history (bounded by keep); without
        # one, the newest ``limit`` of each queue are enough.
        page = () if name is not None or tag is not None else ("LIMIT", 0, limit)
        calls: list[Call] = [
            (None, (), ("ZREVRANGEBYSCORE", key, "+inf", floor, *page))
            for q in queues
            for key in (self._k.of(q).done, self._k.of(q).watched)
        ]
        records = [CompletedJob.from_json(raw) for part in await self._run(calls) for raw in part]
        return pick_recent(records, name=name, limit=limit, since=since, tag=tag)

    async def history_counts(self) -> dict[str, int]:
        queues = await self._link.known()
        calls: list[Call] = [
            (None, (), ("ZCARD", key))
            for q in queues
            for key in (self._k.of(q).done, self._k.of(q).watched)
        ]
        counts = await self._run(calls)
        # Two counts per queue: its history and its monitored records.
        totals = [int(a) + int(b) for a, b in zip(counts[::2], counts[1::2], strict=True)]
        return {q: n for q, n in zip(queues, totals, strict=True) if n}

    async def history_trim(self, keep: int) -> int:
        queues = await self._link.known()
        calls: list[Call] = [
            (None, (), ("ZREMRANGEBYRANK", self._k.of(q).done, 0, -keep - 1)) for q in queues
        ]
        return sum(int(n) for n in await self._run(calls))

    async def history_prune(self, before: float, *, monitored_before: float | None = None) -> int:
        queues = await self._link.known()
        spared = before if monitored_before is None else monitored_before
        calls: list[Call] = [
            (None, (), ("ZREMRANGEBYSCORE", key, "-inf", f"({bound!r}"))
            for q in queues
            for key, bound in ((self._k.of(q).done, before), (self._k.of(q).watched, spared))
        ]
        return sum(int(n) for n in await self._run(calls))

    async def tag_monitor(self, tag: str, monitored: bool) -> bool:
        redis = self._link.redis
        if not monitored:
            return int(await redis.hdel(self._k.monitored, tag)) > 0
        return bool(await redis.hsetnx(self._k.monitored, tag, repr(time.time())))

    async def tags_monitored(self) -> list[str]:
        tags = await self._link.redis.hkeys(self._k.monitored)
        return sorted(t.decode() if isinstance(t, bytes) else str(t) for t in tags)

    async def _run(self, calls: list[Call]) -> list[Any]:
        return await run(self._link.redis, calls) if calls else []
