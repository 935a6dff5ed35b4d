"""Counters and locks with a time to live, shared by every worker through one table
(rate limits, overlap guards and unique locks of the orchestration layer)."""

from __future__ import annotations

from gello_queue.drivers.postgres.connection import Database

_SWEEP_EVERY = 500
"""One coordination call in this many deletes a slice of the expired entries."""


class Coordination(Database):
    """The counters-and-locks part of the port, on the coordination table."""

    _coord_calls = 0
    """Calls that may leave expired entries behind, counted per driver for ``_sweep``."""

    async def _sweep(self) -> None:
        # Expired entries are dead weight: one caller in many deletes a slice of them.
        self._coord_calls += 1
        if self._coord_calls % _SWEEP_EVERY == 0:
            await self._execute("coordination_sweep")

    async def counter_incr(self, key: str, by: int, ttl_s: float) -> int:
        await self._sweep()
        return int(await self._fetchval("counter_incr", "c:" + key, int(by), float(ttl_s)))

    async def lock_acquire(self, key: str, owner: str, ttl_s: float) -> bool:
        await self._sweep()
        return bool(await self._fetch("lock_acquire", "l:" + key, owner, float(ttl_s)))

    async def lock_release(self, key: str, owner: str) -> bool:
        return await self._execute("lock_release", "l:" + key, owner) == 1

    async def lock_owner(self, key: str) -> str | None:
        owner = await self._fetchval("lock_owner", "l:" + key)
        return None if owner is None else str(owner)
