"""Running jobs' progress in the memory driver, judged by the store's clock.

Expired records are swept on a put now and then, so a long-lived store stays bounded by
what was reported within the ttl.
"""

from __future__ import annotations

from collections.abc import Sequence

from gello_queue.drivers.memory.store import MemoryStore
from gello_queue.ports import Progress

SWEEP_EVERY = 256
"""Puts between two sweeps of expired records."""


class ProgressMap:
    """``ProgressStore`` on ``MemoryStore.progress``."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self._puts = 0

    async def progress_put(self, job_id: str, progress: Progress, ttl_s: float) -> None:
        s = self.store
        with s.lock:
            now = s.clock()
            s.progress[job_id] = (progress, now + ttl_s)
            self._puts += 1
            if self._puts % SWEEP_EVERY == 0:
                for key in [k for k, (_, until) in s.progress.items() if until <= now]:
                    del s.progress[key]

    async def progress_get(self, job_ids: Sequence[str]) -> dict[str, Progress]:
        s = self.store
        with s.lock:
            now = s.clock()
            found = ((i, s.progress.get(i)) for i in job_ids)
            return {i: kept[0] for i, kept in found if kept is not None and kept[1] > now}
