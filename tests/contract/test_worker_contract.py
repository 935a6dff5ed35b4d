"""Conformance of a worker over every driver: what it reports is what the backend did."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from helpers import envelope, eventually
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Settings, Worker
from gello_queue.core.envelope import Envelope
from gello_queue.events import Events, JobLeaseLost, JobProcessed
from gello_queue.metrics import JobMetrics, scrape, total
from gello_queue.ports import FailedJob, QueueDriver

registry = JobRegistry()
workers: list[Worker] = []


class Item(BaseModel):
    key: str


class LosesItsLease(Job[Item], register=False):
    """On its first attempt, its lease is taken away while it runs (as a rescue does
    after the lease expired under a blocked event loop): that worker is stale."""

    tries = 3

    async def handle(self, payload: Item) -> None:
        if self.attempt == 1:
            held, _ = workers[-1].active[self.job_id]
            assert await self.driver.release(held, self.envelope, 0)


class Fine(Job[Item], register=False):
    async def handle(self, payload: Item) -> None:
        ran.append(payload.key)


ran: list[str] = []
registry.register(LosesItsLease)
registry.register(Fine)


class ForeignEnvelope(Envelope):
    """Written by another producer, with the standard library's encoder (which nests as
    deep as Python recurses)."""

    def encode(self) -> bytes:
        return json.dumps(self.to_dict()).encode()


def nested(levels: int) -> Any:
    value: Any = 1
    for _ in range(levels):
        value = [value]
    return value


def queue_on(driver: QueueDriver) -> Queue:
    return Queue(
        f"memory://unused-{id(driver)}",
        settings=Settings(),  # type: ignore[call-arg]
        registry=registry,
        factory=lambda: driver,
    )


async def test_a_refused_ack_is_a_lost_lease_not_a_processed_job(driver: QueueDriver) -> None:
    queue = queue_on(driver)
    seen: list[Any] = []
    metrics = JobMetrics()
    events = Events([seen.append, metrics])
    worker = Worker(connection=queue, registry=registry, sleep_s=0.02, events=events)
    workers.append(worker)
    job_id = await LosesItsLease.dispatch(key="k", connection=queue)
    running = asyncio.create_task(worker.start())
    try:
        await eventually(
            lambda: asyncio.sleep(0, [type(e) for e in seen]),
            lambda kinds: JobProcessed in kinds and JobLeaseLost in kinds,
        )
    finally:
        worker.stop()
        await asyncio.wait_for(running, 30)
    processed = [(e.id, e.attempt) for e in seen if isinstance(e, JobProcessed)]
    lost = [(e.id, e.attempt, e.refused) for e in seen if isinstance(e, JobLeaseLost)]
    assert processed == [(job_id, 2)]  # the stale attempt did not complete the job
    assert lost == [(job_id, 1, "ack")]
    assert worker.status().processed == 1
    samples = scrape(metrics.render().decode())
    assert total(samples, "gello_jobs_processed_total") == 1
    assert total(samples, "gello_jobs_lease_lost_total") == 1


async def test_a_body_nested_too_deep_to_store_again_fails_and_can_be_retried(
    driver: QueueDriver,
) -> None:
    queue = queue_on(driver)
    ran.clear()
    deep = ForeignEnvelope(**{**envelope(name="Fine").to_dict(), "payload": {"d": nested(300)}})
    await driver.push([deep])
    worker = Worker(connection=queue, registry=registry, sleep_s=0.02)
    running = asyncio.create_task(worker.start())
    try:
        failed = await eventually(lambda: driver.failed_find(deep.id), timeout_s=15)
    finally:
        worker.stop()
        await asyncio.wait_for(running, 30)
    assert failed.exception == "EnvelopeError"
    assert failed.message == "not a gello envelope: nested deeper than 254 levels"
    assert failed.payload() is None  # what `queue:failed --json` shows
    # Retried with another failed job, the deep one goes back as it was and fails again;
    # the other one is not held back by it.
    other = envelope(name="Fine", payload={"key": "other"})
    record = FailedJob(other.id, "default", "Fine", other.encode().decode(), "X", "", "", 0.0, 1)
    assert await driver.failed_import([record]) == 1
    assert await driver.failed_retry_all() == 2
    worker = Worker(connection=queue, registry=registry, sleep_s=0.02)
    running = asyncio.create_task(worker.start())
    try:
        await eventually(lambda: asyncio.sleep(0, ran), lambda r: r == ["other"], timeout_s=15)
        await eventually(lambda: driver.failed_find(deep.id), timeout_s=15)
    finally:
        worker.stop()
        await asyncio.wait_for(running, 30)
    assert [f.id for f in await driver.failed_list()] == [deep.id]
    assert await driver.failed_retry([deep.id]) == 1
    assert await driver.failed_count() == 0
