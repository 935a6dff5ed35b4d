"""Shared counters and locks on Redis, for rate limits and overlap guards, kept job
results (with the wake lists their waiters block on) and running jobs' progress.

Each coordination key has a hash tag of its own (``P{c:<key>}:n`` for a counter,
``P{c:<key>}:l`` for a lock), so keys spread over a cluster and every call touches one
slot. A counter's ttl starts with it (a fixed window); a lock holds its owner, ``PX``
its ttl, and only that owner releases it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from gello_queue.drivers.redis.link import Link
from gello_queue.drivers.redis.scripts import run
from gello_queue.ports import Progress

_WAKE_TOKEN_MS = 60_000
"""How long a result's wake token waits for a waiter that has not blocked yet."""


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
        keys = (self._k.result(job_id), self._k.result_wake(job_id))
        await self._link.scripts["result_put"](keys, (data, ms, min(ms, _WAKE_TOKEN_MS)))

    async def result_wait(self, job_id: str, timeout_s: float) -> str | None:
        """The result, once ``BLPOP`` takes the token its put left (or ``timeout_s`` ends).

        Only one waiter takes the token: others for the same job find the result when
        their own, short, wait ends (``Queue.result`` waits a second at most at a time).
        """
        data = await self.result_get(job_id)
        if data is not None or timeout_s < 0.001:
            return data
        # A guard above the server-side timeout: a half-open socket must not hang us.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s + 5.0):
                await self._link.blocking_client().blpop(
                    [self._k.result_wake(job_id)], timeout=round(timeout_s, 3)
                )
        return await self.result_get(job_id)

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
