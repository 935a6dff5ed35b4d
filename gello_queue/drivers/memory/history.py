"""The completed-job history of the memory driver: a deque per queue, trimmed to its
newest ``keep`` as records come, under the store's lock with the ack."""

from __future__ import annotations

import collections
import time
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
            if record.monitored:
                self.store.watched.setdefault(record.queue, []).append(record)
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
            queues = [queue] if queue is not None else list(s.history.keys() | s.watched.keys())
            records = [
                c for q in queues for part in (s.history, s.watched) for c in part.get(q, ())
            ]
        return pick_recent(records, name=name, limit=limit, since=since, tag=tag)

    async def history_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        with self.store.lock:
            for part in (self.store.history, self.store.watched):
                for q, kept in part.items():
                    if kept:
                        counts[q] = counts.get(q, 0) + len(kept)
        return counts

    async def history_trim(self, keep: int) -> int:
        trimmed = 0
        with self.store.lock:
            for kept in self.store.history.values():
                while len(kept) > keep:
                    kept.popleft()
                    trimmed += 1
        return trimmed

    async def history_prune(self, before: float, *, monitored_before: float | None = None) -> int:
        s = self.store
        spared = before if monitored_before is None else monitored_before
        pruned = 0
        with s.lock:
            for queue, kept in s.history.items():
                fresh = [c for c in kept if c.finished_at >= before]
                pruned += len(kept) - len(fresh)
                s.history[queue] = collections.deque(fresh)
            for queue, watched in s.watched.items():
                young = [c for c in watched if c.finished_at >= spared]
                pruned += len(watched) - len(young)
                s.watched[queue] = young
        return pruned

    async def tag_monitor(self, tag: str, monitored: bool) -> bool:
        with self.store.lock:
            tags = self.store.monitored_tags
            if not monitored:
                return tags.pop(tag, None) is not None
            if tag in tags:
                return False
            tags[tag] = time.time()
            return True

    async def tags_monitored(self) -> list[str]:
        with self.store.lock:
            return sorted(self.store.monitored_tags)
