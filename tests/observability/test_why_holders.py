"""queue:why names what holds a job back: the job holding its overlap lock, the time a
rate limit lets it go, and the unique key it holds against other dispatches."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from backends import BACKENDS
from helpers import envelope
from pydantic import BaseModel

from gello_queue import Job, JobRegistry
from gello_queue.diagnosis import diagnose
from gello_queue.middleware import RateLimited, WithoutOverlapping
from gello_queue.ports import QueueDriver
from gello_queue.worker.executor import Executor, ExecutorOptions, Outcome

registry = JobRegistry()
RATE_KEY = f"why-api-{uuid.uuid4().hex[:8]}"


class N(BaseModel):
    n: int


class WhyExclusive(Job[N], register=False):
    def middleware(self) -> list[Any]:
        return [WithoutOverlapping(lambda p: f"customer:{p.n}", release_after=600)]

    async def handle(self, payload: N) -> None:
        return None


class WhyLimited(Job[N], register=False):
    def middleware(self) -> list[Any]:
        return [RateLimited(RATE_KEY, limit=1, per=600)]

    async def handle(self, payload: N) -> None:
        return None


for cls in (WhyExclusive, WhyLimited):
    registry.register(cls)


@pytest.fixture(params=["memory", "sqlite", "postgres", "redis"])
async def driver(request: pytest.FixtureRequest) -> Any:
    async with BACKENDS[request.param](request) as opened:
        yield opened


async def run_once(driver: QueueDriver, queue: str) -> Outcome:
    (res,) = await driver.reserve([queue], 1, lease_s=30, worker_id="w")
    return await Executor(driver, registry, ExecutorOptions()).run(res)


async def test_a_job_held_back_by_an_overlap_lock_names_the_holder(driver: QueueDriver) -> None:
    holder = envelope("exclusive", name="WhyExclusive", payload={"n": 7})
    await driver.push([holder])
    await driver.reserve(["exclusive"], 1, lease_s=30, worker_id="w")
    assert await driver.lock_acquire("gello:overlap:customer:7", holder.id, 30)
    waiting = envelope("exclusive", name="WhyExclusive", payload={"n": 7})
    await driver.push([waiting])
    assert await run_once(driver, "exclusive") is Outcome.RELEASED

    found = await diagnose(driver, waiting.id)
    assert found.state == "scheduled"
    assert found.facts["kind"] == "overlap"
    assert found.facts["held_by"] == holder.id
    assert found.facts["lock_held"] is True
    assert f"held by an overlap lock (key customer:7) held by job {holder.id}" in found.summary
    assert f"job {holder.id} holds the lock and is reserved on 'exclusive'" in found.reasons
    assert found.facts["reason"] == f"overlapping: customer:7 is held by job {holder.id}"

    assert await driver.lock_release("gello:overlap:customer:7", holder.id)
    found = await diagnose(driver, waiting.id)
    assert (found.facts["held_by"], found.facts["lock_held"]) == (holder.id, False)
    assert found.summary.endswith(f"that job {holder.id} held; it is free now")
    assert any(
        r.startswith(f"the lock is free now (job {holder.id} released") for r in found.reasons
    )


async def test_a_rate_limited_job_says_until_when(driver: QueueDriver) -> None:
    first, second = (envelope("api", name="WhyLimited", payload={"n": i}) for i in (1, 2))
    await driver.push([first])
    assert await run_once(driver, "api") is Outcome.PROCESSED
    await driver.push([second])
    assert await run_once(driver, "api") is Outcome.RELEASED

    found = await diagnose(driver, second.id)
    assert found.state == "scheduled"
    assert found.facts["kind"] == "rate_limited"
    assert found.facts["rate_key"] == RATE_KEY
    until = found.facts["limited_until"]
    assert time.time() < until <= time.time() + 631
    # The release delay is the wait until then: the job is due when the limit lets it go.
    assert until == pytest.approx(found.facts["due_at"], abs=2)
    assert "rate-limited until " in found.summary
    assert found.facts["reason"].startswith(f"rate limited: {RATE_KEY} allows 1 per 600s, until ")


async def test_a_waiting_job_holding_a_unique_key_says_what_it_does(driver: QueueDriver) -> None:
    pending = envelope("reports", unique_key="report:42")
    await driver.push([pending])
    assert await driver.push([envelope("reports", unique_key="report:42")]) == [pending.id]
    found = await diagnose(driver, pending.id)
    assert (found.facts["unique_key"], found.facts["unique_mode"]) == ("report:42", "processed")
    assert (
        "it holds unique key 'report:42' until it is processed: dispatches with the same key"
        " return this job's id" in found.reasons
    )

    later = time.time() + 600
    scheduled = envelope("reports", unique_key="k2", unique_mode="processing", available_at=later)
    await driver.push([scheduled])
    found = await diagnose(driver, scheduled.id)
    assert found.state == "scheduled"
    assert found.facts["unique_mode"] == "processing"
    assert any("until a worker starts it" in r for r in found.reasons)

    debounced = envelope(
        "reports", unique_key="k3", unique_mode="debounce", available_at=later, unique_for=3600
    )
    await driver.push([debounced])
    found = await diagnose(driver, debounced.id)
    assert found.facts["unique_until"] == pytest.approx(debounced.created_at + 3600)
    assert any(
        "(debounce): a dispatch with the same key replaces this job" in r for r in found.reasons
    )

    plain = envelope("reports")
    await driver.push([plain])
    found = await diagnose(driver, plain.id)
    assert "unique_key" not in found.facts
    assert not any("unique key" in r for r in found.reasons)
