"""Workers' heartbeats, paused queues, the restart signal, per-minute throughput and
timings, and operational events: what workers tell each other and the status commands
through the database."""

from __future__ import annotations

from collections.abc import Sequence

from gello_queue.core.timing import Series, TimingCount, summed
from gello_queue.drivers.common import (
    EVENTS_KEPT,
    EVENTS_KEPT_S,
    THROUGHPUT_KEPT_S,
    newest_command,
    prefix_bounds,
    seen,
)
from gello_queue.drivers.postgres.connection import Database
from gello_queue.ports import OpsEvent, ThroughputBucket, WorkerRecord


class Registry(Database):
    """The workers-and-control part of the port, on the workers, control and throughput
    tables."""

    async def worker_beat(self, record: WorkerRecord, ttl_s: float) -> None:
        await self._execute("worker_beat", record.id, record.to_json().decode(), float(ttl_s))

    async def worker_gone(self, worker_id: str) -> None:
        await self._execute("worker_gone", worker_id)

    # As in SQLite: a control row ``command:<worker id>:<command>``, valued by when.
    async def worker_command(self, worker_id: str, command: str) -> None:
        prefix = f"command:{worker_id}:"
        await self._execute("worker_command", *prefix_bounds(prefix), prefix + command)

    async def worker_command_take(self, worker_id: str) -> str | None:
        prefix = f"command:{worker_id}:"
        rows = await self._fetch("worker_command_take", *prefix_bounds(prefix))
        if not rows:
            return None
        return newest_command([(r[0], r[1]) for r in rows], prefix, float(rows[0][2]))

    async def workers(self) -> list[WorkerRecord]:
        out: list[WorkerRecord] = []
        for raw, last_seen in await self._fetch("workers"):
            out.append(seen(WorkerRecord.from_json(raw), float(last_seen)))
        return out

    async def pause(self, queue: str) -> None:
        await self._execute("pause", queue)

    async def resume(self, queue: str) -> None:
        await self._execute("resume", queue)

    async def paused(self) -> set[str]:
        return {str(r[0]) for r in await self._fetch("paused")}

    async def signal_restart(self) -> float:
        return float(await self._fetchval("signal_restart"))

    async def restart_signal(self) -> float | None:
        value = await self._fetchval("restart_signal")
        return None if value is None else float(value)

    async def record_throughput(self, counts: dict[str, tuple[int, int]], minute: int) -> None:
        if not counts:
            return
        queues = list(counts)
        await self._execute(
            "record_throughput",
            int(minute),
            queues,
            [counts[q][0] for q in queues],
            [counts[q][1] for q in queues],
            THROUGHPUT_KEPT_S,
        )

    async def throughput(self, since: float) -> list[ThroughputBucket]:
        rows = await self._fetch("throughput", float(since))
        return [ThroughputBucket(int(r[0]), str(r[1]), int(r[2]), int(r[3])) for r in rows]

    async def record_timings(self, counts: Sequence[TimingCount]) -> None:
        if not counts:
            return
        counts = summed(counts)  # one row may be changed once per statement
        await self._execute(
            "record_timings",
            [c.minute for c in counts],
            [c.queue for c in counts],
            [c.job for c in counts],
            [c.series.value for c in counts],
            [c.bucket for c in counts],
            [c.count for c in counts],
            THROUGHPUT_KEPT_S,
        )

    async def timings(self, since: float) -> list[TimingCount]:
        rows = await self._fetch("timings", float(since))
        return [
            TimingCount(int(r[0]), str(r[1]), str(r[2]), Series(r[3]), int(r[4]), int(r[5]))
            for r in rows
        ]

    async def events_add(self, events: Sequence[OpsEvent]) -> None:
        if not events:
            return
        await self._execute(
            "events_add", [float(e.at) for e in events], [e.to_json() for e in events]
        )
        await self._execute("events_trim", float(EVENTS_KEPT_S), EVENTS_KEPT)

    async def events_recent(self, *, limit: int = 50, since: float = 0.0) -> list[OpsEvent]:
        rows = await self._fetch("events_recent", float(since), float(EVENTS_KEPT_S), limit)
        return [OpsEvent.from_json(r[0]) for r in rows]
