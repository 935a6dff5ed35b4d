"""Workers, commands to one worker, paused queues, the restart signal, throughput,
timings and operational events on Redis.

These live under the ``{g}`` hash tag (one slot: small and rarely written). A worker's
heartbeat record expires with the ttl it gives, so a dead worker drops out by itself;
throughput and timings are counted per minute in buckets that expire after a day.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from gello_queue.core.states import COMMAND_KEPT_S
from gello_queue.core.timing import Series, TimingCount, summed
from gello_queue.drivers.common import (
    EVENTS_KEPT,
    EVENTS_KEPT_S,
    THROUGHPUT_KEPT_S,
    kept_events,
    seen,
)
from gello_queue.drivers.redis.link import Link
from gello_queue.drivers.redis.scripts import run
from gello_queue.ports import OpsEvent, ThroughputBucket, WorkerRecord


class Registry:
    """Heartbeats, pausing, the restart signal and per-minute throughput."""

    def __init__(self, link: Link) -> None:
        self._link = link
        self._k = link.keys

    async def worker_beat(self, record: WorkerRecord, ttl_s: float) -> None:
        await self._link.scripts["worker_beat"](
            (self._k.worker + record.id, self._k.workers),
            (record.id, record.to_json(), max(1, round(ttl_s * 1000))),
        )

    async def worker_gone(self, worker_id: str) -> None:
        await self._link.scripts["worker_gone"](
            (self._k.worker + worker_id, self._k.workers, self._k.worker + worker_id + ":cmd"),
            (worker_id,),
        )

    # A command is one string beside the worker's heartbeat key, expiring on its own.
    async def worker_command(self, worker_id: str, command: str) -> None:
        key = self._k.worker + worker_id + ":cmd"
        await self._link.redis.execute_command("SET", key, command, "EX", int(COMMAND_KEPT_S))

    async def worker_command_take(self, worker_id: str) -> str | None:
        key = self._k.worker + worker_id + ":cmd"
        command = await self._link.redis.execute_command("GETDEL", key)
        return None if command is None else str(command)

    async def workers(self) -> list[WorkerRecord]:
        raw = await self._link.scripts["workers"]((self._k.workers,), (self._k.worker,))
        records = [
            seen(WorkerRecord.from_json(raw[i + 1]), float(raw[i + 2]))
            for i in range(0, len(raw), 3)
        ]
        return sorted(records, key=lambda r: r.id)

    async def pause(self, queue: str) -> None:
        await self._link.redis.execute_command("SADD", self._k.paused, queue)

    async def resume(self, queue: str) -> None:
        await run(
            self._link.redis,
            [
                (None, (), ("SREM", self._k.paused, queue)),
                (None, (), ("LPUSH", self._k.of(queue).wake, "1")),
                (None, (), ("LTRIM", self._k.of(queue).wake, 0, 15)),
            ],
        )

    async def paused(self) -> set[str]:
        return set(await self._link.redis.execute_command("SMEMBERS", self._k.paused))

    async def signal_restart(self) -> float:
        return float(await self._link.scripts["restart"]((self._k.restart,), ()))

    async def restart_signal(self) -> float | None:
        value = await self._link.redis.execute_command("GET", self._k.restart)
        return None if value is None else float(value)

    async def record_throughput(self, counts: dict[str, tuple[int, int]], minute: int) -> None:
        if not counts:
            return
        args: list[Any] = [self._k.tp_bucket, minute, THROUGHPUT_KEPT_S]
        for queue, (processed, failed) in counts.items():
            args += (queue, processed, failed)
        await self._link.scripts["throughput_add"]((self._k.tp,), args)

    async def throughput(self, since: float) -> list[ThroughputBucket]:
        raw = await self._link.scripts["throughput_get"](
            (self._k.tp,), (self._k.tp_bucket, repr(since))
        )
        out: list[ThroughputBucket] = []
        for i in range(0, len(raw), 2):
            minute = int(raw[i])
            fields = raw[i + 1]
            acc: dict[str, list[int]] = {}
            for j in range(0, len(fields), 2):
                kind, queue = fields[j].split(":", 1)
                acc.setdefault(queue, [0, 0])[kind == "f"] += int(fields[j + 1])
            out += [ThroughputBucket(minute, q, p, f) for q, (p, f) in sorted(acc.items())]
        return out

    async def record_timings(self, counts: Sequence[TimingCount]) -> None:
        if not counts:
            return
        args: list[Any] = [self._k.tm_bucket, THROUGHPUT_KEPT_S]
        for c in counts:
            field = json.dumps([c.queue, c.job, c.series.value, c.bucket])
            args += (c.minute, field, c.count)
        await self._link.scripts["timings_add"]((self._k.tm,), args)

    async def timings(self, since: float) -> list[TimingCount]:
        raw = await self._link.scripts["throughput_get"](
            (self._k.tm,), (self._k.tm_bucket, repr(since))
        )
        out: list[TimingCount] = []
        for i in range(0, len(raw), 2):
            minute, fields = int(raw[i]), raw[i + 1]
            for j in range(0, len(fields), 2):
                queue, job, series, bucket = json.loads(fields[j])
                out.append(
                    TimingCount(minute, queue, job, Series(series), bucket, int(fields[j + 1]))
                )
        return summed(out)

    async def events_add(self, events: Sequence[OpsEvent]) -> None:
        if not events:
            return
        key = self._k.events
        await run(
            self._link.redis,
            [
                (None, (), ("LPUSH", key, *(e.to_json() for e in events))),
                (None, (), ("LTRIM", key, 0, EVENTS_KEPT - 1)),
                (None, (), ("EXPIRE", key, EVENTS_KEPT_S)),
            ],
        )

    async def events_recent(self, *, limit: int = 50, since: float = 0.0) -> list[OpsEvent]:
        raw = await self._link.redis.execute_command("LRANGE", self._k.events, 0, -1)
        events = [OpsEvent.from_json(r) for r in reversed(raw)]  # oldest first
        return [e for e in kept_events(events, await self._link.now()) if e.at >= since][:limit]
