"""Shared counters and locks in the memory driver, for rate limits and overlap guards.

Both live in ``MemoryStore.coord``: a counter under ``c:<key>`` (its ttl starts with it,
a fixed window), a lock under ``l:<key>`` with its owner; an entry past its expiry counts
as absent.
"""

from __future__ import annotations

from gello_queue.drivers.memory.store import MemoryStore


class Coordination:
    """Counters and locks, each judged by the store's clock."""

    def __init__(self, store: MemoryStore) -> None:
        self.store = store

    async def counter_incr(self, key: str, by: int, ttl_s: float) -> int:
        s = self.store
        with s.lock:
            now = s.clock()
            _, value, expires = s.coord.get("c:" + key, ("", 0, 0.0))
            if expires <= now:
                value, expires = 0, now + ttl_s
            value += by
            s.coord["c:" + key] = ("", value, expires)
            return value

    async def lock_acquire(self, key: str, owner: str, ttl_s: float) -> bool:
        s = self.store
        with s.lock:
            now = s.clock()
            held, _, expires = s.coord.get("l:" + key, ("", 0, 0.0))
            if expires > now and held != owner:
                return False
            s.coord["l:" + key] = (owner, 0, now + ttl_s)
            return True

    async def lock_release(self, key: str, owner: str) -> bool:
        s = self.store
        with s.lock:
            held, _, expires = s.coord.get("l:" + key, ("", 0, 0.0))
            if held != owner or expires <= s.clock():
                return False
            del s.coord["l:" + key]
            return True

    async def lock_owner(self, key: str) -> str | None:
        s = self.store
        with s.lock:
            held, _, expires = s.coord.get("l:" + key, ("", 0, 0.0))
            return held if expires > s.clock() else None
