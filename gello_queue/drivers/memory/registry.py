"""Workers, paused queues, the restart signal, throughput, timings and operational events
in the memory driver."""

from __future__ import annotations

from collections.abc import Sequence

from gello_queue.core.states import COMMAND_KEPT_S
from gello_queue.core.timing import Series, TimingCount, summed
from gello_queue.drivers.common import THROUGHPUT_KEPT_S, kept_events, seen
from gello_queue.drivers.memory.store import MemoryStore
from gello_queue.ports import OpsEvent, ThroughputBucket, WorkerRecord


class Registry:
    """Heartbeats (kept with their ttl), pausing, the restart signal, throughput."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def worker_beat(self, record: WorkerRecord, ttl_s: float) -> None:
        with self.store.lock:
            self.store.workers[record.id] = (seen(record, self.store.clock()), ttl_s)

    async def worker_gone(self, worker_id: str) -> None:
        with self.store.lock:
            self.store.workers.pop(worker_id, None)
            self.store.commands.pop(worker_id, None)

    async def worker_command(self, worker_id: str, command: str) -> None:
        with self.store.lock:
            self.store.commands[worker_id] = (command, self.store.clock() + COMMAND_KEPT_S)

    async def worker_command_take(self, worker_id: str) -> str | None:
        with self.store.lock:
            command, until = self.store.commands.pop(worker_id, (None, 0.0))
            return command if until > self.store.clock() else None

    async def workers(self) -> list[WorkerRecord]:
        with self.store.lock:
            now = self.store.clock()
            return [r for r, ttl in self.store.workers.values() if r.last_seen + ttl >= now]

    async def pause(self, queue: str) -> None:
        with self.store.lock:
            self.store.paused.add(queue)

    async def resume(self, queue: str) -> None:
        with self.store.lock:
            self.store.paused.discard(queue)
            self.store.version += 1

    async def paused(self) -> set[str]:
        return set(self.store.paused)

    async def signal_restart(self) -> float:
        self.store.restart_at = self.store.clock()
        return self.store.restart_at

    async def restart_signal(self) -> float | None:
        return self.store.restart_at

    async def record_throughput(self, counts: dict[str, tuple[int, int]], minute: int) -> None:
        with self.store.lock:
            for queue, (processed, failed) in counts.items():
                bucket = self.store.throughput.setdefault((minute, queue), [0, 0])
                bucket[0] += processed
                bucket[1] += failed
            for key in [k for k in self.store.throughput if k[0] < minute - THROUGHPUT_KEPT_S]:
                del self.store.throughput[key]

    async def throughput(self, since: float) -> list[ThroughputBucket]:
        with self.store.lock:
            return [
                ThroughputBucket(minute, queue, p, f)
                for (minute, queue), (p, f) in sorted(self.store.throughput.items())
                if minute >= since
            ]

    async def record_timings(self, counts: Sequence[TimingCount]) -> None:
        with self.store.lock:
            kept = self.store.timings
            for c in counts:
                kept[c.key] = kept.get(c.key, 0) + c.count
            if counts:
                oldest = max(c.minute for c in counts) - THROUGHPUT_KEPT_S
                for key in [k for k in kept if k[0] < oldest]:
                    del kept[key]

    async def timings(self, since: float) -> list[TimingCount]:
        with self.store.lock:
            rows = [(k, n) for k, n in self.store.timings.items() if k[0] >= since]
        return summed(TimingCount(m, q, j, Series(s), b, n) for (m, q, j, s, b), n in rows)

    async def events_add(self, events: Sequence[OpsEvent]) -> None:
        with self.store.lock:
            s = self.store
            s.events = kept_events([*reversed(s.events), *events], s.clock())

    async def events_recent(self, *, limit: int = 50, since: float = 0.0) -> list[OpsEvent]:
        with self.store.lock:
            s = self.store
            return [e for e in kept_events(reversed(s.events), s.clock()) if e.at >= since][:limit]
