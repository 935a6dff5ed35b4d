"""Shared counters and locks on Redis, for rate limits and overlap guards, kept job
results and running jobs' progress.

Each coordination key has a hash tag of its own (``P{c:<key>}:n`` for a counter,
``P{c:<key>}:l`` for a lock), so keys spread over a cluster and every call touches one
slot. A counter's ttl starts with it (a fixed window); a lock holds its owner, ``PX``
its ttl, and only that owner releases it.
"""

from __future__ import annotations

from collections.abc import Sequence

from gello_queue.drivers.redis.link import Link
from gello_queue.drivers.redis.scripts import run
from gello_queue.ports import Progress


class Coordination:
    """Counters and locks, each one script call (or one GET)."""

    def __init__(self, link: Link) -> None:
        self._link = link
        self._k = link.keys

    async def counter_incr(self, key: str, by: int, ttl_s: float) -> int:
        ms = max(1, round(ttl_s * 1000))
        return int(
            await self._link.scripts["counter_incr"]((self._k.coord(key, "n"),), (int(by), ms))
        )

    async def lock_acquire(self, key: str, owner: str, ttl_s: float) -> bool:
        ms = max(1, round(ttl_s * 1000))
        return bool(
            await self._link.scripts["lock_acquire"]((self._k.coord(key, "l"),), (owner, ms))
        )

    async def lock_release(self, key: str, owner: str) -> bool:
        return bool(await self._link.scripts["lock_release"]((self._k.coord(key, "l"),), (owner,)))

    async def lock_owner(self, key: str) -> str | None:
        owner = await self._link.redis.execute_command("GET", self._k.coord(key, "l"))
        return None if owner is None else str(owner)

    # A job's result is one string with its own hash tag and ``PX``: Redis expires it.
    async def result_put(self, job_id: str, data: str, ttl_s: float) -> None:
        ms = max(1, round(ttl_s * 1000))
        await self._link.redis.execute_command("SET", self._k.result(job_id), data, "PX", ms)

    async def result_get(self, job_id: str) -> str | None:
        data = await self._link.redis.execute_command("GET", self._k.result(job_id))
        return None if data is None else str(data)

    # A job's progress is one string with its own hash tag and ``PX`` too; reading many
    # is one pipelined round trip (a cluster routes each GET to its slot).
    async def progress_put(self, job_id: str, progress: Progress, ttl_s: float) -> None:
        ms = max(1, round(ttl_s * 1000))
        key = self._k.progress(job_id)
        await self._link.redis.execute_command("SET", key, progress.to_json(), "PX", ms)

    async def progress_get(self, job_ids: Sequence[str]) -> dict[str, Progress]:
        if not job_ids:
            return {}
        calls = [(None, (), ("GET", self._k.progress(i))) for i in job_ids]
        found = await run(self._link.redis, calls)
        return {i: Progress.from_json(raw) for i, raw in zip(job_ids, found, strict=True) if raw}
