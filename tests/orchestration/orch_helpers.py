"""Shared by the orchestration tests: queues over opened drivers, and workers run as
tasks until a condition holds."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from gello_queue import JobRegistry, Queue, Settings, Worker
from gello_queue.ports import QueueDriver

DRIVERS = ["memory", "postgres", "redis", "sqlite"]


def queue_on(driver: QueueDriver, registry: JobRegistry | None = None) -> Queue:
    """A ``Queue`` whose every event loop uses ``driver`` (already open)."""
    return Queue(
        f"memory://unused-{id(driver)}",
        settings=Settings(),  # type: ignore[call-arg]
        registry=registry,
        factory=lambda: driver,
    )


@asynccontextmanager
async def running(
    queue: Queue,
    registry: JobRegistry,
    *,
    workers: int = 1,
    concurrency: int = 4,
    queues: list[str] | None = None,
    lease_s: float = 5.0,
) -> AsyncIterator[list[Worker]]:
    """Workers serving ``queue`` in this loop; stopped (gracefully) on exit."""
    started = [
        Worker(
            queues,
            connection=queue,
            registry=registry,
            concurrency=concurrency,
            sleep_s=0.02,
            lease_s=lease_s,
            grace_s=5.0,
        )
        for _ in range(workers)
    ]
    tasks = [asyncio.create_task(w.start()) for w in started]
    try:
        yield started
    finally:
        for w in started:
            w.stop()
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 20)


async def until(probe: Callable[[], Awaitable[Any] | Any], timeout_s: float = 15.0) -> Any:
    """Wait until ``probe()`` is truthy (it may be async); fail at the deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        value = probe()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s; last value {value!r}")
        await asyncio.sleep(0.02)
