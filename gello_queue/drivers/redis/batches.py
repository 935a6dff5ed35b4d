"""Batches on Redis: a record, its jobs' marks, and an index to list and prune them.

``P{b:<id>}`` (the record) and ``P{b:<id>}:jobs`` (job id -> ``p``/``f``) share a slot
of their own, so marking a job is one script; ``P{g}:batches`` (id -> created time)
lists them. A batch and its jobs are pushed in one round trip, the batch first.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from gello_queue.core.envelope import Envelope
from gello_queue.drivers.redis.link import Link, hash_fields
from gello_queue.drivers.redis.push import Pushes, push_ids
from gello_queue.drivers.redis.scripts import BATCH, Call, run
from gello_queue.ports import BatchRecord


class Batches:
    """Creating, marking, listing, cancelling and pruning batches."""

    def __init__(self, link: Link, pushes: Pushes) -> None:
        self._link = link
        self._k = link.keys
        self._pushes = pushes

    async def batch_push(self, record: BatchRecord, envelopes: Sequence[Envelope]) -> list[str]:
        plain = [e.with_changes(unique_key=None) if e.unique_key else e for e in envelopes]
        head, _ = self._k.batch(record.id)
        calls: list[Call] = [
            (
                self._link.scripts["batch_create"],
                (head,),
                (record.name, record.total, record.options),
            ),
            (None, (), ("ZADD", self._k.batches, "NX", repr(time.time()), record.id)),
        ]
        chunks: list[list[int]] = []
        if plain:
            push_calls, chunks = self._pushes.calls(plain)
            calls += push_calls
        # One round trip; on one server the batch is written before its jobs.
        results = await run(self._link.redis, calls)
        return push_ids(plain, chunks, results) if plain else []

    async def batch_mark(self, batch_id: str, job_id: str, failed: bool) -> BatchRecord | None:
        raw = await self._link.scripts["batch_mark"](self._k.batch(batch_id), (job_id, int(failed)))
        return _batch(batch_id, raw) if raw else None

    async def batch_find(self, batch_id: str, *, with_failed: bool = True) -> BatchRecord | None:
        head, jobs = self._k.batch(batch_id)
        if not with_failed:
            raw = await self._link.redis.execute_command("HGETALL", head)
            return _batch(batch_id, raw) if raw else None
        raw, marks = await run(
            self._link.redis, [(None, (), ("HGETALL", head)), (None, (), ("HGETALL", jobs))]
        )
        if not raw:
            return None
        failed = sorted(j for j, mark in hash_fields(marks).items() if mark == "f")
        return replace(_batch(batch_id, raw), failed_ids=tuple(failed))

    async def batch_list(self, *, limit: int = 50, offset: int = 0) -> list[BatchRecord]:
        stop = offset + limit - 1 if limit >= 0 else -1
        ids = await self._link.redis.execute_command("ZREVRANGE", self._k.batches, offset, stop)
        if not ids:
            return []
        rows = await run(
            self._link.redis, [(None, (), ("HGETALL", self._k.batch(b)[0])) for b in ids]
        )
        return [_batch(b, raw) for b, raw in zip(ids, rows, strict=True) if raw]

    async def batch_cancel(self, batch_id: str, *, cancelled: bool = True) -> bool:
        head = self._k.batch(batch_id)[0]
        return bool(await self._link.scripts["batch_cancel"]((head,), (int(cancelled),)))

    async def batch_prune(self, before: float) -> int:
        # A batch ends after it was created: only those created before ``before`` are read.
        ids = await self._link.redis.execute_command(
            "ZRANGEBYSCORE", self._k.batches, "-inf", f"({before!r}"
        )
        done = 0
        for start in range(0, len(ids), BATCH):
            part = ids[start : start + BATCH]
            heads = [self._k.batch(b)[0] for b in part]
            rows = await run(
                self._link.redis,
                [(None, (), ("HMGET", h, "finished_at", "cancelled_at")) for h in heads],
            )
            calls: list[Call] = []
            for batch_id, (finished, cancelled) in zip(part, rows, strict=True):
                ends = [float(v) for v in (finished, cancelled) if v]
                if ends and min(ends) < before:
                    calls += [
                        (None, (), ("DEL", *self._k.batch(batch_id))),
                        (None, (), ("ZREM", self._k.batches, batch_id)),
                    ]
                    done += 1
            if calls:
                await run(self._link.redis, calls)
        return done


def _batch(batch_id: str, raw: Any) -> BatchRecord:
    f = hash_fields(raw)
    return BatchRecord(
        id=batch_id,
        name=str(f.get("name", "")),
        total=int(f.get("total", 0)),
        processed=int(f.get("processed", 0)),
        failed=int(f.get("failed", 0)),
        created_at=float(f.get("created_at", 0.0)),
        finished_at=float(f["finished_at"]) if f.get("finished_at") else None,
        cancelled_at=float(f["cancelled_at"]) if f.get("cancelled_at") else None,
        options=str(f.get("options", "{}")),
    )
