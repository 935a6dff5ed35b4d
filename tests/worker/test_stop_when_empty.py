"""`--stop-when-empty` on every driver: the worker stops once its last job ends, not
after its idle wait (here far longer than the test may take)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from backends import BACKENDS
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Settings, Worker
from gello_queue.worker.states import ExitReason

registry = JobRegistry()


class Pause(BaseModel):
    seconds: float


class Nap(Job[Pause], register=False):
    async def handle(self, payload: Pause) -> None:
        await asyncio.sleep(payload.seconds)


registry.register(Nap)


@pytest.fixture(params=list(BACKENDS))
async def queue(request: pytest.FixtureRequest) -> AsyncIterator[Queue]:
    async with BACKENDS[request.param](request) as driver:
        yield Queue(
            f"memory://unused-{id(driver)}",
            settings=Settings(),  # type: ignore[call-arg]
            registry=registry,
            factory=lambda: driver,
        )


async def test_the_worker_stops_when_its_last_job_ends(queue: Queue) -> None:
    # The short job ends first: the worker goes idle while the longer one still runs.
    await queue.bulk([Nap.make(seconds=0.01), Nap.make(seconds=0.3)])
    worker = Worker(
        connection=queue, registry=registry, concurrency=4, stop_when_empty=True, sleep_s=60
    )
    assert await asyncio.wait_for(worker.start(), 20) is ExitReason.EMPTY
    assert worker.status().processed == 2
