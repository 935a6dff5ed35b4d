"""The SQLite driver's records about workers: heartbeats, pause and restart signals,
throughput and timings per minute, and operational events (``gello_workers``,
``gello_control``, ``gello_throughput``, ``gello_timings``, ``gello_events``)."""

from __future__ import annotations

from collections.abc import Sequence

from gello_queue.core.timing import Series, TimingCount
from gello_queue.drivers.common import (
    EVENTS_KEPT,
    EVENTS_KEPT_S,
    THROUGHPUT_KEPT_S,
    newest_command,
    prefix_bounds,
    seen,
)
from gello_queue.drivers.sqlite.connection import SqliteConnection
from gello_queue.drivers.sqlite.sql import Q
from gello_queue.ports import OpsEvent, ThroughputBucket, WorkerRecord


class WorkerStore(SqliteConnection):
    """Workers and control half of the port; ``SqliteDriver`` inherits it."""

    async def worker_beat(self, record: WorkerRecord, ttl_s: float) -> None:
        now = self.clock()
        with self._write() as tx:
            tx.execute(
                Q["worker_beat"], (record.id, seen(record, now).to_json().decode(), now, ttl_s)
            )
            tx.execute(Q["workers_forget_silent"], (now,))

    async def worker_gone(self, worker_id: str) -> None:
        with self._write() as tx:
            tx.execute(Q["worker_gone"], (worker_id,))
            tx.execute(Q["worker_command_take"], prefix_bounds(f"command:{worker_id}:"))

    # A command is a control row ``command:<worker id>:<command>`` valued by when it
    # was left: the newest one not older than ``COMMAND_KEPT_S`` is taken.
    async def worker_command(self, worker_id: str, command: str) -> None:
        with self._write() as tx:
            tx.execute(Q["worker_command_take"], prefix_bounds(f"command:{worker_id}:"))
            tx.execute(Q["control_set"], (f"command:{worker_id}:{command}", self.clock()))

    async def worker_command_take(self, worker_id: str) -> str | None:
        prefix = f"command:{worker_id}:"
        with self._write() as tx:
            rows = tx.execute(Q["worker_command_take"], prefix_bounds(prefix)).fetchall()
        return newest_command(rows, prefix, self.clock())

    async def workers(self) -> list[WorkerRecord]:
        rows = self.db.execute(Q["workers"], (self.clock(),)).fetchall()
        return [WorkerRecord.from_json(r[0]) for r in rows]

    async def pause(self, queue: str) -> None:
        with self._write() as tx:
            tx.execute(Q["control_set"], (f"paused:{queue}", self.clock()))

    async def resume(self, queue: str) -> None:
        with self._write() as tx:
            tx.execute(Q["control_unset"], (f"paused:{queue}",))

    async def paused(self) -> set[str]:
        return {r[0] for r in self.db.execute(Q["paused"]).fetchall()}

    async def signal_restart(self) -> float:
        now = self.clock()
        with self._write() as tx:
            tx.execute(Q["control_set"], ("restart", now))
        return now

    async def restart_signal(self) -> float | None:
        row = self.db.execute(Q["control_value"], ("restart",)).fetchone()
        return None if row is None else float(row[0])

    async def record_throughput(self, counts: dict[str, tuple[int, int]], minute: int) -> None:
        with self._write() as tx:
            tx.executemany(Q["throughput_add"], [(minute, q, p, f) for q, (p, f) in counts.items()])
            tx.execute(Q["throughput_trim"], (minute - THROUGHPUT_KEPT_S,))

    async def throughput(self, since: float) -> list[ThroughputBucket]:
        rows = self.db.execute(Q["throughput"], (since,)).fetchall()
        return [ThroughputBucket(*r) for r in rows]

    async def record_timings(self, counts: Sequence[TimingCount]) -> None:
        if not counts:
            return
        with self._write() as tx:
            tx.executemany(
                Q["timings_add"],
                [(c.minute, c.queue, c.job, c.series.value, c.bucket, c.count) for c in counts],
            )
            tx.execute(Q["timings_trim"], (max(c.minute for c in counts) - THROUGHPUT_KEPT_S,))

    async def timings(self, since: float) -> list[TimingCount]:
        rows = self.db.execute(Q["timings"], (since,)).fetchall()
        return [TimingCount(int(m), q, j, Series(s), int(b), int(n)) for m, q, j, s, b, n in rows]

    async def events_add(self, events: Sequence[OpsEvent]) -> None:
        if not events:
            return
        with self._write() as tx:
            tx.executemany(Q["events_add"], [(e.at, e.to_json()) for e in events])
            tx.execute(Q["events_trim"], (self.clock() - EVENTS_KEPT_S, EVENTS_KEPT))

    async def events_recent(self, *, limit: int = 50, since: float = 0.0) -> list[OpsEvent]:
        since = max(since, self.clock() - EVENTS_KEPT_S)
        rows = self.db.execute(Q["events_recent"], (since, limit)).fetchall()
        return [OpsEvent.from_json(r[0]) for r in rows]
