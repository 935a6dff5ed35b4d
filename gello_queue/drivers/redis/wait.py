"""Blocking waits on Redis: an idle worker sleeps in ``BLPOP`` until a job may be there.

An idle worker blocks in ``BLPOP`` on its queues' wake lists, on a connection pool of its
own so a blocked call never starves the pool that acks and reserves use. Pushing,
releasing, rescuing, promoting and retrying push tokens (at most 16 per list), and
reserving clears a queue's list once its ready set is empty, so an idle worker is not
woken for jobs already taken. The wait is shortened to the earliest delayed job so a
scheduled job runs on time. On a cluster ``BLPOP`` cannot span slots, so a worker on
several queues blocks on the first queue's list for at most ``CLUSTER_WAIT_S`` and then
reserves again (one queue blocks for the whole timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Sequence
from typing import Protocol

from redis.exceptions import NoScriptError

from gello_queue.drivers.redis.leases import reserve_call, reserved
from gello_queue.drivers.redis.link import Link
from gello_queue.drivers.redis.scripts import Call, run
from gello_queue.ports import Reservation

CLUSTER_WAIT_S = 0.05
"""Longest block on a cluster when waiting on several queues (see above)."""


class Reserve(Protocol):
    """The driver's ``reserve``."""

    async def __call__(
        self, queues: Sequence[str], limit: int, *, lease_s: float, worker_id: str
    ) -> list[Reservation]: ...


class Waiter:
    """``wait`` and ``reserve_wait`` on the blocking client."""

    def __init__(self, link: Link, reserve: Reserve) -> None:
        self._link = link
        self._k = link.keys
        self._reserve = reserve

    async def _plan(
        self, queues: Sequence[str], timeout_s: float
    ) -> tuple[list[str], float] | None:
        """The wake lists to block on and for how long, or None when a scheduled job is
        due already (then there is nothing to wait for)."""
        calls: list[Call] = [(None, (), ("TIME",))]
        calls += [(None, (), ("ZRANGE", self._k.of(q).delayed, 0, 0, "WITHSCORES")) for q in queues]
        results = await run(self._link.redis, calls)
        sec, usec = results[0]
        now = float(sec) + usec / 1_000_000
        timeout = timeout_s
        for head in results[1:]:
            if head:
                timeout = min(timeout, float(head[0][1]) - now)
        if timeout < 0.001:
            return None
        lists = [self._k.of(q).wake for q in queues]
        if self._link.cluster and len(lists) > 1:
            lists, timeout = lists[:1], min(timeout, CLUSTER_WAIT_S)
        return lists, timeout

    async def wait(self, queues: Sequence[str], timeout_s: float) -> None:
        if not queues:
            await asyncio.sleep(timeout_s)
            return
        plan = await self._plan(queues, timeout_s)
        if plan is None:
            return  # a scheduled job is due (or the caller asked not to block)
        lists, timeout = plan
        # A guard above the server-side timeout: a half-open socket must not hang us.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout + 5.0):
                await self._link.blocking_client().blpop(lists, timeout=round(timeout, 3))

    async def reserve_wait(
        self,
        queues: Sequence[str],
        limit: int,
        *,
        lease_s: float,
        worker_id: str,
        timeout_s: float,
    ) -> list[Reservation]:
        """``wait`` then ``reserve``, without a round trip in between: the blocking pop and
        the first queue's reserve script travel in one pipeline, so the server leases a
        job the moment its wake-up token arrives. Jobs of later queues are left to the
        caller's next ``reserve``. Not on a cluster, whose pipelines cannot block."""
        if not queues:
            await asyncio.sleep(timeout_s)
            return []
        if self._link.cluster:
            await self.wait(queues, timeout_s)
            return []
        plan = await self._plan(queues, timeout_s)
        if plan is None:
            return await self._reserve(queues, limit, lease_s=lease_s, worker_id=worker_id)
        lists, timeout = plan
        token = os.urandom(8).hex()
        keys, args = reserve_call(self._k, queues[0], limit, lease_s, token, worker_id)
        script = self._link.scripts["reserve"]
        pipe = self._link.blocking_client().pipeline(transaction=False)
        pipe.execute_command("BLPOP", *lists, round(timeout, 3))
        pipe.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)
        async with asyncio.timeout(timeout + 5.0):
            results = await pipe.execute(raise_on_error=False)
        raw = results[1]
        if isinstance(raw, NoScriptError):
            raw = await script(keys, args)  # it did not run: running it is safe
        elif isinstance(raw, Exception):
            raise raw
        return reserved(queues[0], token, raw)
