"""Shipped middleware on every driver: limits shared by workers, releases that use no
attempt and say why."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from orch_helpers import running, until
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue
from gello_queue.core.envelope import Envelope
from gello_queue.core.states import JobState
from gello_queue.middleware import (
    CallNext,
    RateLimited,
    Skip,
    ThrottlesExceptions,
    WithoutOverlapping,
)

registry = JobRegistry()
log: list[tuple[str, int, float]] = []
active: dict[str, int] = {}


class P(BaseModel):
    n: int
    key: str = "k"


class Limited(Job[P], register=False):
    tries = 1  # a release that used an attempt would fail the job
    admitted_at = 0.0

    def middleware(self) -> list[Any]:
        return [RateLimited(lambda p: f"api:{p.key}", limit=3, per=1.0, clock=self.admit)]

    def admit(self) -> float:
        # Logged: the time the limiter counted the run in (it may start a little later).
        self.admitted_at = time.time()
        return self.admitted_at

    async def handle(self, payload: P) -> None:
        log.append(("limited", payload.n, self.admitted_at))


class Exclusive(Job[P], register=False):
    tries = 1

    def middleware(self) -> list[Any]:
        return [WithoutOverlapping(lambda p: p.key, release_after=0.05, expire_after=30)]

    async def handle(self, payload: P) -> None:
        active[payload.key] = active.get(payload.key, 0) + 1
        assert active[payload.key] == 1, "two jobs ran at once under one key"
        await asyncio.sleep(0.05)
        active[payload.key] -= 1
        log.append(("exclusive", payload.n, time.time()))


class Flaky(Job[P], register=False):
    tries = 10
    backoff = 0

    def middleware(self) -> list[Any]:
        return [ThrottlesExceptions(max_exceptions=2, decay=1.0)]

    async def handle(self, payload: P) -> None:
        log.append(("flaky", self.attempt, time.time()))
        if self.attempt <= 2:
            raise RuntimeError("service down")


class Stamp:
    """A user's own middleware: one small class, one async method."""

    async def handle(self, job: Job[Any], payload: Any, call_next: CallNext) -> None:
        log.append(("stamp", payload.n, 0.0))
        await call_next()


class Maybe(Job[P], register=False):
    def middleware(self) -> list[Any]:
        return [Stamp(), Skip(when=lambda p: p.n % 2 == 1)]

    async def handle(self, payload: P) -> None:
        log.append(("maybe", payload.n, 0.0))


for cls in (Limited, Exclusive, Flaky, Maybe):
    registry.register(cls)


async def test_rate_limit_is_shared_by_two_workers_and_costs_no_attempt(queue: Queue) -> None:
    log.clear()
    await queue.bulk([Limited.make(n=i) for i in range(8)])
    driver = await queue.driver()
    async with running(queue, registry, workers=2, concurrency=4):
        waiting = await until(lambda: driver.jobs(None, JobState.SCHEDULED))
        env = Envelope.decode(waiting[0].body)
        assert env.reason is not None
        assert env.reason.startswith("rate limited: api:k allows 3 per 1s")
        assert env.attempts == 0
        await until(lambda: len(log) == 8, timeout_s=20)
    per_window: dict[int, int] = {}
    for _, _, at in log:
        per_window[int(at // 1.0)] = per_window.get(int(at // 1.0), 0) + 1
    assert max(per_window.values()) <= 3
    assert sorted(n for _, n, _ in log) == list(range(8))
    assert await driver.failed_count() == 0


async def test_without_overlapping_runs_one_per_key(queue: Queue) -> None:
    log.clear()
    active.clear()
    await queue.bulk([Exclusive.make(n=i, key="a" if i % 2 else "b") for i in range(6)])
    async with running(queue, registry, workers=2, concurrency=4):
        await until(lambda: len(log) == 6, timeout_s=20)
    assert await (await queue.driver()).failed_count() == 0


async def test_throttled_jobs_wait_out_the_decay_without_using_attempts(queue: Queue) -> None:
    log.clear()
    await Flaky.dispatch(n=1, connection=queue)
    async with running(queue, registry):
        await until(lambda: any(a == 3 for k, a, _ in log if k == "flaky"), timeout_s=20)
    attempts = [a for k, a, _ in log if k == "flaky"]
    times = [t for k, _, t in log if k == "flaky"]
    # Two failures open the circuit: the third attempt waits for the window to pass and
    # is the third attempt (the throttled releases did not count).
    assert attempts == [1, 2, 3]
    assert times[2] - times[1] >= 0.5


async def test_custom_middleware_and_skip(queue: Queue) -> None:
    log.clear()
    await queue.bulk([Maybe.make(n=i) for i in range(4)])
    async with running(queue, registry):
        await until(lambda: _empty(queue))
    assert sorted(n for k, n, _ in log if k == "stamp") == [0, 1, 2, 3]
    assert sorted(n for k, n, _ in log if k == "maybe") == [0, 2]


async def _empty(queue: Queue) -> bool:
    counts = await (await queue.driver()).counts()
    return all(c.total == 0 for c in counts.values())
