"""Kept job results in the memory driver, judged by the store's clock.

Expired results are swept on a put now and then, so a long-lived store stays bounded by
what is kept within the ttl.
"""

from __future__ import annotations

from gello_queue.drivers.memory.store import MemoryStore

SWEEP_EVERY = 256
"""Puts between two sweeps of expired results."""


class Results:
    """``ResultStore`` on ``MemoryStore.results``."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store
        self._puts = 0

    async def result_put(self, job_id: str, data: str, ttl_s: float) -> None:
        s = self.store
        with s.lock:
            now = s.clock()
            s.results[job_id] = (data, now + ttl_s)
            self._puts += 1
            if self._puts % SWEEP_EVERY == 0:
                for key in [k for k, (_, until) in s.results.items() if until <= now]:
                    del s.results[key]

    async def result_get(self, job_id: str) -> str | None:
        s = self.store
        with s.lock:
            found = s.results.get(job_id)
            if found is None or found[1] <= s.clock():
                return None
            return found[0]
