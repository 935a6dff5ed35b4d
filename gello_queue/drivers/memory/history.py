"""The completed-job history of the memory driver: a deque per queue, trimmed to its
newest ``keep`` as records come, under the store's lock with the ack."""

from __future__ import annotations

import collections
from collections.abc import Sequence

from gello_queue.drivers.common import pick_recent
from gello_queue.drivers.memory.store import MemoryStore
from gello_queue.ports import CompletedJob


class History:
    """``JobHistory`` on ``MemoryStore.history`` (the ack itself is the driver's)."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    def record(self, completed: Sequence[CompletedJob], lost: Sequence[str], keep: int) -> None:
        """Keep the records whose ack was not lost; the caller holds the store's lock."""
        refused = set(lost)
        history = self.store.history
        for record in completed:
            if record.id in refused:
                continue
            kept = history.setdefault(record.queue, collections.deque())
            kept.append(record)
            while len(kept) > keep:
                kept.popleft()

    async def recent(
        self,
        *,
        queue: str | None = None,
        name: str | None = None,
        limit: int = 50,
        since: float | None = None,
        tag: str | None = None,
    ) -> list[CompletedJob]:
        s = self.store
        with s.lock:
            queues = [queue] if queue is not None else list(s.history)
            records = [c for q in queues for c in s.history.get(q, ())]
        return pick_recent(records, name=name, limit=limit, since=since, tag=tag)

    async def history_counts(self) -> dict[str, int]:
        with self.store.lock:
            return {q: len(kept) for q, kept in self.store.history.items() if kept}

    async def history_trim(self, keep: int) -> int:
        trimmed = 0
        with self.store.lock:
            for kept in self.store.history.values():
                while len(kept) > keep:
                    kept.popleft()
                    trimmed += 1
        return trimmed

    async def history_prune(self, before: float) -> int:
        s = self.store
        pruned = 0
        with s.lock:
            for queue, kept in s.history.items():
                fresh = [c for c in kept if c.finished_at >= before]
                pruned += len(kept) - len(fresh)
                s.history[queue] = collections.deque(fresh)
        return pruned
