"""Conformance of a worker over every driver: what it reports is what the backend did."""

from __future__ import annotations

import asyncio
from typing import Any

from helpers import eventually
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Settings, Worker
from gello_queue.events import Events, JobLeaseLost, JobProcessed
from gello_queue.metrics import JobMetrics, scrape, total
from gello_queue.ports import QueueDriver

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


registry.register(LosesItsLease)


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
