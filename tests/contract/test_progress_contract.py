"""Conformance of job progress on every connection that keeps it: the store reads back
what was put, from another process too, until it expires; progress a job reports while it
runs is seen by another process, throttled, with its last value kept; and
``Queue.status`` follows a job through its life."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest
from helpers import eventually
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Settings, Worker
from gello_queue.job_status import job_status
from gello_queue.ports import Capability, Progress, ProgressStore, QueueDriver

registry = JobRegistry()
gates: dict[str, asyncio.Event] = {}


class Step(BaseModel):
    key: str


class Resize(Job[Step], register=False):
    """Reports 40%, waits at its gate, then returns a result."""

    keep_result = 60

    async def handle(self, payload: Step) -> dict[str, int]:
        await self.progress(0.4, "resizing 4/10")
        await gates[payload.key].wait()
        return {"resized": 10}


class Breaks(Job[Step], register=False):
    tries = 1

    async def handle(self, payload: Step) -> None:
        await self.progress(0.7, "almost")
        raise ValueError("the image is corrupt")


class Counts(Job[Step], register=False):
    """Reports in a tight loop, then its last value."""

    async def handle(self, payload: Step) -> None:
        deadline = time.monotonic() + 0.6
        i = 0
        while time.monotonic() < deadline:
            i += 1
            await self.progress(min(i / 100_000, 0.99), f"item {i}")
            await asyncio.sleep(0)
        await self.progress(1.0, "done")


for _cls in (Resize, Breaks, Counts):
    registry.register(_cls)


def progress_of(driver: QueueDriver) -> ProgressStore:
    if not isinstance(driver, ProgressStore):
        pytest.skip(f"the {driver.name} driver keeps no progress")
    return driver


def queue_on(driver: QueueDriver) -> Queue:
    return Queue(
        f"memory://unused-{id(driver)}",
        settings=Settings(),  # type: ignore[call-arg]
        registry=registry,
        factory=lambda: driver,
    )


class Running:
    """A worker serving ``driver`` for the length of a ``with`` block."""

    def __init__(self, driver: QueueDriver) -> None:
        self.worker = Worker(
            connection=queue_on(driver), registry=registry, sleep_s=0.02, name="resizer"
        )
        self.task: asyncio.Task[Any] | None = None

    async def __aenter__(self) -> Worker:
        self.task = asyncio.create_task(self.worker.start())
        return self.worker

    async def __aexit__(self, *exc: object) -> None:
        self.worker.stop()
        assert self.task is not None
        await asyncio.wait_for(self.task, 30)


async def test_progress_put_is_read_back_by_another_process(
    driver: QueueDriver, peer: QueueDriver
) -> None:
    store = progress_of(driver)
    await store.progress_put("job-1", Progress(0.25, "a quarter é", 1700000000.5), 60)
    await store.progress_put("job-2", Progress(1.0, None, 1700000001.0), 60)
    found = await progress_of(peer).progress_get(["job-1", "job-2", "job-3"])
    assert found == {
        "job-1": Progress(0.25, "a quarter é", 1700000000.5),
        "job-2": Progress(1.0, None, 1700000001.0),
    }
    assert await store.progress_get([]) == {}


@pytest.mark.inline_too
async def test_a_later_put_replaces_the_progress(driver: QueueDriver) -> None:
    store = progress_of(driver)
    await store.progress_put("job-1", Progress(0.1, "start", 1.0), 60)
    await store.progress_put("job-1", Progress(0.9, "nearly", 2.0), 60)
    assert await store.progress_get(["job-1"]) == {"job-1": Progress(0.9, "nearly", 2.0)}


@pytest.mark.inline_too
async def test_progress_expires_after_its_ttl(driver: QueueDriver) -> None:
    store = progress_of(driver)
    await store.progress_put("brief", Progress(0.5, None, 1.0), 0.3)
    await store.progress_put("kept", Progress(0.5, None, 1.0), 60)
    await eventually(lambda: store.progress_get(["brief"]), lambda r: r == {}, timeout_s=10)
    assert list(await store.progress_get(["brief", "kept"])) == ["kept"]


@pytest.mark.timeout(60)
async def test_status_follows_a_job_from_waiting_through_running_to_completed(
    driver: QueueDriver, peer: QueueDriver
) -> None:
    progress_of(driver)
    lists = Capability.LIST_JOBS in driver.capabilities
    gates["a"] = asyncio.Event()
    job_id = await Resize.dispatch(key="a", connection=queue_on(driver))
    waiting = await job_status(peer, job_id)
    assert waiting.state == ("pending" if lists else "unknown")
    assert waiting.progress is None
    if lists:
        assert (waiting.name, waiting.attempts) == ("Resize", 0)
        assert waiting.dispatched_at is not None
    async with Running(driver):
        running = await eventually(
            lambda: job_status(peer, job_id),
            # The worker's heartbeat names its jobs within a beat of starting them.
            lambda s: s.progress is not None and (s.started_at is not None or not lists),
            timeout_s=20,
        )
        assert running.progress is not None
        assert (running.progress.fraction, running.progress.message) == (0.4, "resizing 4/10")
        assert abs(running.progress.updated_at - time.time()) < 30
        if lists:
            assert (running.state, running.attempts, running.worker) == ("reserved", 1, "resizer")
            assert running.running
            assert running.started_at is not None
            # Started before it reported, and recently (clocks of one machine).
            assert running.started_at <= running.progress.updated_at + 0.001
            assert time.time() - running.started_at < 30
        gates["a"].set()
        done = await eventually(
            lambda: job_status(peer, job_id), lambda s: s.state == "completed", timeout_s=20
        )
    assert (done.has_result, done.result) == (True, {"resized": 10})
    assert done.progress is not None
    assert done.progress.fraction == 0.4
    assert done.failure is None


@pytest.mark.timeout(60)
async def test_status_of_a_failed_job_says_why(driver: QueueDriver, peer: QueueDriver) -> None:
    progress_of(driver)
    job_id = await Breaks.dispatch(key="b", connection=queue_on(driver))
    async with Running(driver):
        failed = await eventually(
            lambda: job_status(peer, job_id), lambda s: s.state == "failed", timeout_s=20
        )
    assert failed.failure is not None
    assert (failed.failure.exception, failed.failure.message) == (
        "ValueError",
        "the image is corrupt",
    )
    assert (failed.attempts, failed.name) == (1, "Breaks")
    assert failed.finished_at is not None
    assert failed.progress is not None
    assert failed.progress.message == "almost"
    assert not failed.has_result


async def test_an_unknown_id_has_unknown_status(driver: QueueDriver) -> None:
    progress_of(driver)
    status = await job_status(driver, "no-such-job")
    assert (status.state, status.progress, status.failure) == ("unknown", None, None)


@pytest.mark.timeout(60)
async def test_progress_in_a_tight_loop_is_throttled_and_its_last_value_kept(
    driver: QueueDriver, peer: QueueDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = progress_of(driver)
    writes: list[float] = []
    put = store.progress_put

    async def counted(job_id: str, progress: Progress, ttl_s: float) -> None:
        writes.append(time.monotonic())
        await put(job_id, progress, ttl_s)

    monkeypatch.setattr(driver, "progress_put", counted)
    job_id = await Counts.dispatch(key="c", connection=queue_on(driver))
    async with Running(driver):
        last = await eventually(
            lambda: progress_of(peer).progress_get([job_id]),
            lambda r: job_id in r and r[job_id].message == "done",
            timeout_s=20,
        )
    assert last[job_id].fraction == 1.0
    # One write at once, at most one per 250 ms window after it, and the last value,
    # written when the attempt ended (inside a window or not): about five in 0.6 s.
    span = writes[-1] - writes[0]
    assert 2 <= len(writes) <= 2 + span / 0.25, (len(writes), span)
    gaps = [b - a for a, b in itertools.pairwise(writes[:-1])]
    assert all(gap >= 0.24 for gap in gaps), gaps
