"""Job middleware that ships with gello: rate limits, overlap locks, a circuit breaker
and conditional skips, shared by every worker through the backend.

    class SendInvoice(Job[Invoice]):
        def middleware(self) -> list[Middleware]:
            return [
                RateLimited("mailer", limit=100, per=60),
                WithoutOverlapping(lambda p: f"customer:{p.customer_id}"),
                ThrottlesExceptions(max_exceptions=5, decay=120),
            ]

A job held back by a limit is released (``ReleaseJob``): it does not use an attempt, and
it waits as a scheduled job whose ``reason`` says why (``queue:why ID`` shows it). Write
your own as a class with one method, ``async def handle(self, job, payload, call_next)``
(the ``Middleware`` protocol, re-exported here); ``job.driver`` gives the shared counters
(``counter_incr``) and locks (``lock_acquire``/``lock_release``/``lock_owner``).
"""

from __future__ import annotations

import contextlib
import inspect
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from gello_queue.core.errors import ReleaseJob
from gello_queue.core.pipeline import CallNext, Middleware

if TYPE_CHECKING:
    from gello_queue.core.job import Job

Key = str | Callable[[Any], str]
"""A fixed name, or a function of the payload (``lambda p: f"user:{p.user_id}"``)."""

__all__ = [
    "CallNext",
    "Middleware",
    "RateLimited",
    "Skip",
    "ThrottlesExceptions",
    "WithoutOverlapping",
]

OVERLAP_LOCK = "gello:overlap:"
"""Prefix of ``WithoutOverlapping``'s lock keys (``lock_owner`` of it names the holder)."""

# Release reasons are plain sentences in the envelope; ``held_back`` reads them back for
# ``queue:why``, so their shapes are defined here only.
_OVERLAP = re.compile(r"^overlapping: (?P<key>.+) is held by (?:job (?P<holder>\S+)|another job)$")
_RATE = re.compile(r"^rate limited: (?P<key>.+) allows \d+ per \S+s, until (?P<until>\S+)$")


@dataclass(frozen=True, slots=True)
class HeldBack:
    """What a release by ``WithoutOverlapping`` or ``RateLimited`` recorded."""

    kind: Literal["overlap", "rate_limited"]
    key: str
    """The overlap key, or the rate limit's name."""
    held_by: str | None = None
    """The job holding the overlap lock when this one was released."""
    until: float | None = None
    """When the rate limit's window reopens (epoch seconds)."""

    @property
    def lock(self) -> str:
        """The overlap lock's key in the backend."""
        return OVERLAP_LOCK + self.key


def held_back(reason: str | None) -> HeldBack | None:
    """The limit behind a release ``reason``, or None when no shipped limit wrote it."""
    if not reason:
        return None
    if found := _OVERLAP.match(reason):
        return HeldBack("overlap", found["key"], held_by=found["holder"])
    if found := _RATE.match(reason):
        with contextlib.suppress(ValueError):
            until = datetime.fromisoformat(found["until"]).timestamp()
            return HeldBack("rate_limited", found["key"], until=until)
    return None


def overlap_reason(key: str, holder: str | None) -> str:
    return f"overlapping: {key} is held by " + (f"job {holder}" if holder else "another job")


def rate_reason(name: str, limit: int, per: float, until: float) -> str:
    stamp = datetime.fromtimestamp(until, UTC).isoformat(timespec="milliseconds")
    return f"rate limited: {name} allows {limit} per {per:g}s, until {stamp}"


def _key(key: Key | None, job: Job[Any], payload: Any) -> str:
    if key is None:
        return type(job).name
    return key(payload) if callable(key) else key


class RateLimited:
    """At most ``limit`` runs per ``per`` seconds for ``key``, across all workers.

    Windows are fixed (aligned to multiples of ``per``); a job over the limit is
    released until the next window opens, plus a little jitter so released jobs do not
    all come back in the same instant.
    """

    def __init__(
        self, key: Key, limit: int, per: float, *, clock: Callable[[], float] = time.time
    ) -> None:
        if limit < 1 or per <= 0:
            raise ValueError("RateLimited needs limit >= 1 and per > 0")
        self.key, self.limit, self.per, self.clock = key, limit, per, clock

    async def handle(self, job: Job[Any], payload: Any, call_next: CallNext) -> None:
        name = _key(self.key, job, payload)
        now = self.clock()
        window = int(now // self.per)
        used = await job.driver.counter_incr(f"gello:rate:{name}:{window}", 1, self.per * 2)
        if used > self.limit:
            wait = (window + 1) * self.per - now + random.uniform(0, self.per * 0.05)
            raise ReleaseJob(wait, rate_reason(name, self.limit, self.per, now + wait))
        await call_next()


class WithoutOverlapping:
    """One job per ``key`` runs at a time, across all workers.

    Args:
        key: what must not overlap (default: the job's name).
        release_after: seconds a job that finds the key busy waits before trying again.
        expire_after: the lock's longest life, so a worker that dies holding it blocks
            others for at most this long.
    """

    def __init__(
        self, key: Key | None = None, *, release_after: float = 1.0, expire_after: float = 300.0
    ) -> None:
        self.key, self.release_after, self.expire_after = key, release_after, expire_after

    async def handle(self, job: Job[Any], payload: Any, call_next: CallNext) -> None:
        key = _key(self.key, job, payload)
        lock = OVERLAP_LOCK + key
        driver = job.driver
        # The job id owns the lock: a retry of the same job may take it back at once.
        for _ in range(2):
            if await driver.lock_acquire(lock, job.job_id, self.expire_after):
                break
            # Named in the reason, so queue:why can say which job holds it.
            holder = await driver.lock_owner(lock)
            if holder is not None:
                raise ReleaseJob(self.release_after, overlap_reason(key, holder))
            # Freed between the two calls: try once more.
        else:
            raise ReleaseJob(self.release_after, overlap_reason(key, None))
        try:
            await call_next()
        finally:
            await driver.lock_release(lock, job.job_id)


class ThrottlesExceptions:
    """A circuit breaker: after ``max_exceptions`` failures of ``key`` within a window
    of ``decay`` seconds, jobs are released for ``decay`` seconds instead of running.

    Failures still count as attempts (the executor retries them as usual); jobs held
    back by the open circuit do not.
    """

    def __init__(self, max_exceptions: int, decay: float, *, key: Key | None = None) -> None:
        if max_exceptions < 1 or decay <= 0:
            raise ValueError("ThrottlesExceptions needs max_exceptions >= 1 and decay > 0")
        self.max_exceptions, self.decay, self.key = max_exceptions, decay, key

    async def handle(self, job: Job[Any], payload: Any, call_next: CallNext) -> None:
        name = f"gello:throttle:{_key(self.key, job, payload)}"
        driver = job.driver
        failures = await driver.counter_incr(name, 0, self.decay)
        if failures >= self.max_exceptions:
            raise ReleaseJob(self.decay, f"throttled: {failures} failures within {self.decay:g}s")
        try:
            await call_next()
        except ReleaseJob:
            raise
        except Exception:
            await driver.counter_incr(name, 1, self.decay)
            raise


class Skip:
    """Complete the job without running it when ``when(payload)`` is true (it may be
    async); ``unless`` is the opposite."""

    def __init__(
        self,
        when: Callable[[Any], bool | Awaitable[bool]] | None = None,
        *,
        unless: Callable[[Any], bool | Awaitable[bool]] | None = None,
    ) -> None:
        self.when, self.unless = when, unless

    async def handle(self, job: Job[Any], payload: Any, call_next: CallNext) -> None:
        if self.when is not None and await _truth(self.when(payload)):
            return
        if self.unless is not None and not await _truth(self.unless(payload)):
            return
        await call_next()


async def _truth(value: bool | Awaitable[bool]) -> bool:
    return bool(await value) if inspect.isawaitable(value) else bool(value)
