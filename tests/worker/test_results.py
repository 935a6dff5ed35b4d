"""Job results end to end: a worker keeps what ``handle`` returned, ``Queue.result`` and
``Job.result`` wait for it, on the memory, SQLite, Redis,
PostgreSQL and RabbitMQ (its results in its SQLite store) drivers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from backends import BACKENDS
from pydantic import BaseModel

from gello_queue import (
    Job,
    JobFailedError,
    JobNotFoundError,
    JobRegistry,
    Queue,
    Settings,
    Worker,
    testing,
)
from gello_queue.core.errors import ConfigurationError, ResultError
from gello_queue.middleware import Middleware, Skip
from gello_queue.ports import Capability, QueueDriver

registry = JobRegistry()


class Item(BaseModel):
    key: str
    size: int = 1


class Report(BaseModel):
    key: str
    lines: list[str]


class MakeReport(Job[Item], register=False):
    keep_result = 60

    async def handle(self, payload: Item) -> Report:
        return Report(key=payload.key, lines=[payload.key] * payload.size)


class Count(Job[Item], register=False):
    """Keeps its result by the ``QUEUE_KEEP_RESULTS`` setting, a plain JSON type."""

    run_in = "thread"

    def handle(self, payload: Item) -> dict[str, int]:  # type: ignore[override]
        return {payload.key: payload.size}


class Forgetful(Job[Item], register=False):
    keep_result = 0

    async def handle(self, payload: Item) -> int:
        return payload.size


class Broken(Job[Item], register=False):
    keep_result = 60
    tries = 1

    async def handle(self, payload: Item) -> Report:
        raise ValueError(f"no report for {payload.key}")


class Opaque:
    """Nothing pydantic can write as JSON."""


class ReturnsOpaque(Job[Item], register=False):
    keep_result = 60
    tries = 1

    async def handle(self, payload: Item) -> Any:
        return Opaque()


class Huge(Job[Item], register=False):
    keep_result = 60
    tries = 1

    async def handle(self, payload: Item) -> str:
        return "x" * payload.size


class CountInChild(Job[Item], register=False):
    """A plain ``def handle`` run in a child process (the default for one)."""

    keep_result = 60
    tries = 1

    def handle(self, payload: Item) -> Report:  # type: ignore[override]
        if payload.size < 0:
            return Opaque()  # type: ignore[return-value]
        return Report(key=payload.key, lines=[str(payload.size)])


class Skipped(Job[Item], register=False):
    """A job its middleware completes without running ``handle``."""

    keep_result = 60
    tries = 1

    def middleware(self) -> Sequence[Middleware]:
        return [Skip(when=lambda payload: True)]

    async def handle(self, payload: Item) -> Report:
        raise AssertionError("skipped")


for job in (MakeReport, Count, Forgetful, Broken, ReturnsOpaque, Huge, CountInChild, Skipped):
    registry.register(job)


@pytest.fixture(params=["memory", "sqlite", "redis", "postgres", "rabbitmq"])
async def driver(request: pytest.FixtureRequest) -> AsyncIterator[QueueDriver]:
    async with BACKENDS[request.param](request) as opened:
        yield opened


@pytest.fixture
def queue(driver: QueueDriver) -> Queue:
    settings = Settings(QUEUE_KEEP_RESULTS=30, QUEUE_MAX_RESULT_BYTES=1000)  # type: ignore[call-arg]
    return Queue(
        f"memory://unused-{id(driver)}",
        settings=settings,
        registry=registry,
        factory=lambda: driver,
    )


async def drain(queue: Queue) -> Worker:
    worker = Worker(connection=queue, concurrency=2, stop_when_empty=True, sleep_s=0.02)
    await asyncio.wait_for(worker.start(), 30)
    return worker


async def test_a_result_awaited_before_the_job_ran_arrives_typed(queue: Queue) -> None:
    job_id = await MakeReport.dispatch(key="r", size=2, connection=queue)
    waiting = asyncio.create_task(MakeReport.result(job_id, timeout=30, connection=queue))
    await asyncio.sleep(0.05)
    assert not waiting.done()  # the job has not run yet
    await drain(queue)
    assert await waiting == Report(key="r", lines=["r", "r"])


async def test_a_result_asked_for_after_the_job_ran_is_there(queue: Queue) -> None:
    job_id = await MakeReport.dispatch(key="after", connection=queue)
    await drain(queue)
    assert await MakeReport.result(job_id, timeout=5, connection=queue) == Report(
        key="after", lines=["after"]
    )
    assert await queue.result(job_id) == {"key": "after", "lines": ["after"]}


async def assert_no_result(queue: Queue, driver: QueueDriver, job_id: str) -> None:
    if Capability.LIST_JOBS not in driver.capabilities:
        # A broker cannot tell a waiting job from an unknown id: it waits the timeout out.
        with pytest.raises(TimeoutError):
            await queue.result(job_id, timeout=0.2)
        return
    with pytest.raises(JobNotFoundError):
        await queue.result(job_id, timeout=5)


async def test_the_setting_keeps_results_of_jobs_that_set_none(
    queue: Queue, driver: QueueDriver
) -> None:
    counted = await Count.dispatch(key="c", size=7, connection=queue)
    forgotten = await Forgetful.dispatch(key="f", connection=queue)
    await drain(queue)
    assert await Count.result(counted, timeout=5, connection=queue) == {"c": 7}
    await assert_no_result(queue, driver, forgotten)  # keep_result = 0 keeps none


async def test_a_failed_job_raises_what_it_failed_with(queue: Queue) -> None:
    job_id = await Broken.dispatch(key="b", connection=queue)
    await drain(queue)
    with pytest.raises(JobFailedError) as failed:
        await Broken.result(job_id, timeout=5, connection=queue)
    error = failed.value
    assert (error.job_id, error.exception, error.message) == (
        job_id,
        "ValueError",
        "no report for b",
    )


async def test_a_job_still_waiting_times_out(queue: Queue) -> None:
    job_id = await MakeReport.dispatch(key="late", connection=queue)
    with pytest.raises(TimeoutError):
        await queue.result(job_id, timeout=0.2)


async def test_an_unknown_id_is_not_found(queue: Queue, driver: QueueDriver) -> None:
    await assert_no_result(queue, driver, "no-such-job")


async def test_a_worker_of_a_queue_with_hooks_keeps_results_too(queue: Queue) -> None:
    dispatched: list[object] = []
    queue.events.subscribe(dispatched.append)  # the worker now gets a hooked driver view
    job_id = await MakeReport.dispatch(key="hooked", connection=queue)
    await drain(queue)
    assert dispatched
    assert await queue.result(job_id, timeout=5) == {"key": "hooked", "lines": ["hooked"]}


async def test_a_result_that_is_not_json_fails_the_attempt(queue: Queue) -> None:
    job_id = await ReturnsOpaque.dispatch(key="o", connection=queue)
    await drain(queue)
    with pytest.raises(JobFailedError) as failed:
        await queue.result(job_id, timeout=5)
    assert failed.value.exception == "ResultError"
    assert "the result of ReturnsOpaque (Opaque) cannot be kept: it is not JSON" in str(
        failed.value.message
    )


async def test_a_result_over_the_cap_fails_the_attempt(queue: Queue) -> None:
    kept = await Huge.dispatch(key="fits", size=900, connection=queue)
    job_id = await Huge.dispatch(key="h", size=1200, connection=queue)
    await drain(queue)
    assert await queue.result(kept, timeout=5) == "x" * 900
    with pytest.raises(JobFailedError) as failed:
        await queue.result(job_id, timeout=5)
    assert failed.value.message == (
        "the result of Huge is 1202 bytes as JSON, over the 1000 bytes QUEUE_MAX_RESULT_BYTES"
        " allows"
    )


def test_the_blocking_twin_waits_too(tmp_path: Any) -> None:
    queue = Queue(f"memory://{tmp_path.name}", registry=registry)
    job_id = MakeReport.dispatch_blocking(key="sync", connection=queue)
    asyncio.run(drain(queue))
    assert queue.result_blocking(job_id, timeout=5) == {"key": "sync", "lines": ["sync"]}
    assert MakeReport.result_blocking(job_id, timeout=5, connection=queue) == Report(
        key="sync", lines=["sync"]
    )


async def test_run_job_gives_what_handle_returned() -> None:
    run = await testing.run_job(MakeReport, key="t", size=1)
    run.assert_completed()
    assert run.result == Report(key="t", lines=["t"])


async def test_run_job_reports_a_result_that_cannot_be_kept() -> None:
    run = await testing.run_job(ReturnsOpaque, key="t")
    run.assert_raised(ResultError, match="it is not JSON")


async def test_a_handle_run_in_a_child_process_keeps_its_result(tmp_path: Any) -> None:
    queue = Queue(f"memory://{tmp_path.name}", registry=registry)
    kept = await CountInChild.dispatch(key="p", size=3, connection=queue)
    opaque = await CountInChild.dispatch(key="o", size=-1, connection=queue)
    await drain(queue)
    assert await CountInChild.result(kept, timeout=5, connection=queue) == Report(
        key="p", lines=["3"]
    )
    with pytest.raises(JobFailedError) as failed:
        await queue.result(opaque, timeout=5)
    assert (failed.value.exception, failed.value.message) == (
        "ResultError",
        "the result of CountInChild does not match its return annotation: result: Input should"
        " be a valid dictionary or instance of Report",
    )


async def test_the_sync_connection_keeps_results_by_the_setting() -> None:
    settings = Settings(QUEUE_KEEP_RESULTS=30)  # type: ignore[call-arg]
    queue = Queue("sync://", settings=settings, registry=registry)
    job_id = await Count.dispatch(key="s", size=2, connection=queue)  # ran at dispatch
    assert await Count.result(job_id, timeout=5, connection=queue) == {"s": 2}


def test_a_negative_keep_result_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="keep_result must be >= 0 seconds, got -1"):

        class Negative(Job[Item], register=False):
            keep_result = -1


async def test_a_job_its_middleware_skipped_completes_with_no_result(tmp_path: Any) -> None:
    queue = Queue(f"memory://{tmp_path.name}", registry=registry)
    job_id = await Skipped.dispatch(key="s", connection=queue)
    worker = await drain(queue)
    assert (worker.status().processed, worker.status().failed) == (1, 0)
    with pytest.raises(JobNotFoundError):
        await queue.result(job_id, timeout=5)
