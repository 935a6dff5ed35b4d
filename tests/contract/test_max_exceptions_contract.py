"""``max_exceptions`` over every driver: a job released any number of times is not failed
by it; one that raised ``max_exceptions`` times is, with tries still left. The count
travels in the stored message, so it holds across attempts and workers."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from helpers import eventually
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Settings, Worker
from gello_queue.core.envelope import Envelope
from gello_queue.diagnosis import diagnose
from gello_queue.ports import QueueDriver

registry = JobRegistry()
MAX_EXCEPTIONS = 3
runs: Counter[str] = Counter()
done: set[str] = set()


class Item(BaseModel):
    key: str


class ReleasedOften(Job[Item], register=False):
    """Released (as a rate limit would) ``MAX_EXCEPTIONS + 5`` times, then completes."""

    tries = 2
    max_exceptions = MAX_EXCEPTIONS

    async def handle(self, payload: Item) -> None:
        runs[self.job_id] += 1
        if runs[self.job_id] <= MAX_EXCEPTIONS + 5:
            self.release(0, "rate limited")
        done.add(self.job_id)


class AlwaysRaises(Job[Item], register=False):
    tries = 10
    backoff = 0
    max_exceptions = MAX_EXCEPTIONS

    async def handle(self, payload: Item) -> None:
        runs[self.job_id] += 1
        raise RuntimeError(f"upstream down ({payload.key})")


registry.register(ReleasedOften)
registry.register(AlwaysRaises)


def queue_on(driver: QueueDriver) -> Queue:
    return Queue(
        f"memory://unused-{id(driver)}",
        settings=Settings(),  # type: ignore[call-arg]
        registry=registry,
        factory=lambda: driver,
    )


@pytest.mark.timeout(90)
async def test_releases_are_not_exceptions_and_max_exceptions_fails_with_tries_left(
    driver: QueueDriver,
) -> None:
    queue = queue_on(driver)
    released = await ReleasedOften.dispatch(key="r", connection=queue)
    raising = await AlwaysRaises.dispatch(key="x", connection=queue)
    worker = Worker(connection=queue, registry=registry, sleep_s=0.02)
    running = asyncio.create_task(worker.start())
    try:
        failed = await eventually(lambda: driver.failed_find(raising), timeout_s=45)
        await eventually(lambda: asyncio.sleep(0, released in done), timeout_s=45)
    finally:
        worker.stop()
        await asyncio.wait_for(running, 30)

    assert runs[released] == MAX_EXCEPTIONS + 6
    assert await driver.failed_find(released) is None

    assert runs[raising] == MAX_EXCEPTIONS  # not the 10 its tries allow
    assert failed.attempts == MAX_EXCEPTIONS
    assert (failed.exception, failed.message) == ("RuntimeError", "upstream down (x)")
    stored = Envelope.decode(failed.body)
    assert stored.exceptions == MAX_EXCEPTIONS
    assert stored.reason == f"max_exceptions reached ({MAX_EXCEPTIONS} of {MAX_EXCEPTIONS})"
    why = await diagnose(driver, raising)  # what `gello queue:why` prints
    assert f"given up: max_exceptions reached ({MAX_EXCEPTIONS} of {MAX_EXCEPTIONS})" in why.reasons
