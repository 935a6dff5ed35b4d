"""Conformance of the timing stats on every connection: what workers count per minute,
queue and job class is stored, summed and read back; a workload of known run times
through a real worker reads back as those run times, within one bucket."""

from __future__ import annotations

import asyncio
import time

import pytest
from helpers import eventually
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Settings, Worker
from gello_queue.core.timing import Series, TimingCount, bucket_of
from gello_queue.inspection import Inspector
from gello_queue.ports import QueueDriver, TimingStats

registry = JobRegistry()


class Nap(BaseModel):
    seconds: float


class QuickNap(Job[Nap], register=False):
    queue = "stats-fast"

    async def handle(self, payload: Nap) -> None:
        await asyncio.sleep(payload.seconds)


class LongNap(Job[Nap], register=False):
    queue = "stats-slow"

    async def handle(self, payload: Nap) -> None:
        await asyncio.sleep(payload.seconds)


class NapThenFail(Job[Nap], register=False):
    queue = "stats-fast"
    tries = 1

    async def handle(self, payload: Nap) -> None:
        await asyncio.sleep(payload.seconds)
        raise RuntimeError("meant to fail")


for job in (QuickNap, LongNap, NapThenFail):
    registry.register(job)


def stats_of(driver: QueueDriver) -> TimingStats:
    if not isinstance(driver, TimingStats):
        pytest.skip(f"the {driver.name} driver keeps no timings")
    return driver


def minute_now() -> int:
    return int(time.time()) // 60 * 60


async def test_counts_add_up_per_key_and_read_back_in_key_order(driver: QueueDriver) -> None:
    store = stats_of(driver)
    m = minute_now()
    first = [
        TimingCount(m, "q", "A", Series.RUN, 12, 3),
        TimingCount(m, "q", "A", Series.PROCESSED, 0, 3),
        TimingCount(m - 60, "q", "A", Series.WAIT, 2, 1),
    ]
    second = [
        TimingCount(m, "q", "A", Series.RUN, 12, 2),
        TimingCount(m, "q:x|é", "B\x1f", Series.FAILED, 0, 1),
    ]
    await store.record_timings(first)
    await store.record_timings(second)
    await store.record_timings([])
    assert await store.timings(m - 60) == [
        TimingCount(m - 60, "q", "A", Series.WAIT, 2, 1),
        TimingCount(m, "q", "A", Series.PROCESSED, 0, 3),
        TimingCount(m, "q", "A", Series.RUN, 12, 5),
        TimingCount(m, "q:x|é", "B\x1f", Series.FAILED, 0, 1),
    ]
    assert [c.minute for c in await store.timings(m)] == [m, m, m]


async def test_workers_writing_together_lose_no_count(driver: QueueDriver) -> None:
    store = stats_of(driver)
    m = minute_now()
    one = [TimingCount(m, "q", "A", Series.RUN, b, 1) for b in range(10)]
    await asyncio.gather(*(store.record_timings(one) for _ in range(8)))
    assert await store.timings(m) == [TimingCount(m, "q", "A", Series.RUN, b, 8) for b in range(10)]


async def test_minutes_past_the_throughput_retention_are_forgotten(driver: QueueDriver) -> None:
    store = stats_of(driver)
    m = minute_now()
    await store.record_timings([TimingCount(m - 2 * 86_400, "q", "A", Series.RUN, 1, 1)])
    await store.record_timings([TimingCount(m, "q", "A", Series.RUN, 1, 1)])
    assert await store.timings(0) == [TimingCount(m, "q", "A", Series.RUN, 1, 1)]


def queue_on(driver: QueueDriver) -> Queue:
    return Queue(
        f"memory://unused-{id(driver)}",
        settings=Settings(),  # type: ignore[call-arg]
        registry=registry,
        factory=lambda: driver,
    )


def within_one_bucket(found: float | None, true_s: float) -> bool:
    # Never below the true bucket (a sleep is never shorter); one bucket above is the
    # jitter of a loaded machine.
    return found is not None and bucket_of(found) - bucket_of(true_s) in (0, 1)


@pytest.mark.timeout(120)
async def test_a_known_workload_reads_back_as_its_run_times(driver: QueueDriver) -> None:
    stats_of(driver)
    queue = queue_on(driver)
    began = time.monotonic()
    for _ in range(12):
        await QuickNap.dispatch(seconds=0.01, connection=queue)
    for _ in range(4):
        await LongNap.dispatch(seconds=0.2, connection=queue)
    for _ in range(3):
        await NapThenFail.dispatch(seconds=0.01, connection=queue)
    worker = Worker(
        connection=queue,
        registry=registry,
        queues=["stats-fast", "stats-slow"],
        concurrency=4,
        sleep_s=0.02,
        extensions=[],
    )
    running = asyncio.create_task(worker.start())
    await eventually(lambda: asyncio.sleep(0, worker.counters.handled), lambda n: n == 19)
    worker.stop()
    await asyncio.wait_for(running, 30)  # its last beat stores what it counted
    took = time.monotonic() - began

    report = await Inspector(queue).stats(window_s=600)
    quick = report.job("QuickNap", "stats-fast")
    slow = report.job("LongNap", "stats-slow")
    failing = report.job("NapThenFail", "stats-fast")
    assert quick is not None
    assert slow is not None
    assert failing is not None
    assert (quick.processed, quick.failed) == (12, 0)
    assert (slow.processed, slow.failed) == (4, 0)
    assert (failing.processed, failing.failed, failing.failure_rate) == (0, 3, 1.0)
    assert within_one_bucket(quick.run_p(0.5), 0.01)
    assert within_one_bucket(slow.run_p(0.5), 0.2)
    assert within_one_bucket(slow.run_p(0.99), 0.2)
    # A failed attempt's time also covers building its failure (the traceback).
    assert bucket_of(failing.run_p(0.5) or 0) >= bucket_of(0.01)

    fast = report.queue("stats-fast")
    assert fast is not None
    assert (fast.processed, fast.failed, fast.failure_rate) == (12, 3, 0.2)
    assert fast.per_minute == pytest.approx(15 / 10)
    assert within_one_bucket(fast.run_p(0.5), 0.01)
    # Each job waited once, from its dispatch to its start: never negative, never more
    # than the test took.
    for row in (fast, report.queue("stats-slow")):
        assert row is not None
        assert sum(row.wait.values()) == row.ended
        assert 0 < (row.wait_p(0.99) or 0) <= took * 2**0.25
    assert [r.queue for r in report.queues] == ["stats-fast", "stats-slow"]
