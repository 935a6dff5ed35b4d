"""Lifecycle events reach listeners (who cannot hurt the worker); middleware wraps handle."""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Worker, WorkerState
from gello_queue.events import (
    JobFailed,
    JobProcessed,
    JobReleased,
    JobReserved,
    JobRetrying,
    WorkerEvent,
    log_listener,
)
from gello_queue.middleware import CallNext

registry = JobRegistry()
trail: list[str] = []


class P(BaseModel):
    n: int


class Around:
    def __init__(self, tag: str) -> None:
        self.tag = tag

    async def handle(self, job: Job[Any], payload: Any, call_next: CallNext) -> None:
        trail.append(f"{self.tag}>")
        await call_next()
        trail.append(f"<{self.tag}")


class SkipOdd:
    async def handle(self, job: Job[Any], payload: Any, call_next: CallNext) -> None:
        if payload.n % 2:
            trail.append(f"skip {payload.n}")
            return
        await call_next()


class OnceLater:
    async def handle(self, job: Job[Any], payload: Any, call_next: CallNext) -> None:
        if job.attempt == 1 and "released" not in trail:
            trail.append("released")
            job.release(0, "not yet")
        await call_next()


class Wrapped(Job[P], register=False):
    def middleware(self) -> list[Any]:
        return [Around("outer"), Around("inner"), SkipOdd()]

    async def handle(self, payload: P) -> None:
        trail.append(f"handle {payload.n}")


class Deferred(Job[P], register=False):
    tries = 1

    def middleware(self) -> list[Any]:
        return [OnceLater()]

    async def handle(self, payload: P) -> None:
        trail.append("deferred ran")


class Broken(Job[P], register=False):
    tries = 2
    backoff = 0

    async def handle(self, payload: P) -> None:
        raise KeyError("missing")


for cls in (Wrapped, Deferred, Broken):
    registry.register(cls)


async def run_all(queue: Queue, worker: Worker) -> None:
    await asyncio.wait_for(worker.start(), 20)


async def test_middleware_wraps_in_order_and_can_skip() -> None:
    queue = Queue("memory://mw", registry=registry)
    trail.clear()
    await Wrapped.dispatch(n=2, connection=queue)
    await Wrapped.dispatch(n=3, connection=queue)
    await run_all(queue, Worker(connection=queue, stop_when_empty=True, sleep_s=0.02))
    assert trail == [
        "outer>", "inner>", "handle 2", "<inner", "<outer",
        "outer>", "inner>", "skip 3", "<inner", "<outer",
    ]  # fmt: skip


async def test_a_middleware_release_uses_no_attempt() -> None:
    queue = Queue("memory://release", registry=registry)
    trail.clear()
    await Deferred.dispatch(n=1, connection=queue)
    worker = Worker(connection=queue, stop_when_empty=True, sleep_s=0.02)
    await run_all(queue, worker)
    assert trail == ["released", "deferred ran"]  # tries = 1, yet it ran after the release
    assert worker.status().processed == 1


async def test_listeners_see_every_transition_and_cannot_break_the_worker() -> None:
    queue = Queue("memory://events", registry=registry)
    seen: list[Any] = []

    def explode(event: Any) -> None:
        raise RuntimeError("listener bug")

    worker = Worker(connection=queue, stop_when_empty=True, sleep_s=0.02)
    worker.events.subscribe(explode)
    unsubscribe = worker.events.subscribe(seen.append)
    await Broken.dispatch(n=1, connection=queue)
    await Wrapped.dispatch(n=4, connection=queue)
    await run_all(queue, worker)
    kinds = [type(e).__name__ for e in seen if not isinstance(e, WorkerEvent)]
    assert kinds.count("JobReserved") == 3
    assert kinds.count("JobProcessed") == 1
    assert kinds.count("JobRetrying") == 1
    assert kinds.count("JobFailed") == 1
    failed = next(e for e in seen if isinstance(e, JobFailed))
    assert failed.reason == "attempts exhausted (2 of 2)"
    assert failed.error == "KeyError: 'missing'"
    retry = next(e for e in seen if isinstance(e, JobRetrying))
    assert (retry.attempt, retry.max_attempts) == (1, 2)
    processed = next(e for e in seen if isinstance(e, JobProcessed))
    assert processed.duration_s >= 0
    assert all(e.wait_s >= 0 for e in seen if isinstance(e, JobReserved))
    moves = [(e.previous, e.state) for e in seen if isinstance(e, WorkerEvent)]
    assert moves == [
        (WorkerState.STARTING, WorkerState.RUNNING),
        (WorkerState.RUNNING, WorkerState.STOPPING),
        (WorkerState.STOPPING, WorkerState.STOPPED),
    ]
    assert [e.started for e in seen if isinstance(e, WorkerEvent)] == [True, False, False]
    unsubscribe()
    assert seen.append not in worker.events.listeners
    assert log_listener in worker.events.listeners
    assert not any(isinstance(e, JobReleased) for e in seen)


def test_a_resume_is_not_a_start() -> None:
    """Extensions start their work once: on the move out of starting, not out of paused."""
    resumed = WorkerEvent("w", "worker", WorkerState.RUNNING, WorkerState.PAUSED)
    started = WorkerEvent("w", "worker", WorkerState.RUNNING, WorkerState.STARTING)
    assert (resumed.started, started.started) == (False, True)
