"""Conformance of the timing stats on every connection: what workers count per minute,
queue and job class is stored, summed and read back; a workload of known run times
through a real worker reads back as those run times, within one bucket."""

from __future__ import annotations

import asyncio
import math
import time

import pytest
from helpers import eventually
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Settings, Worker
from gello_queue.core.timing import Series, TimingCount, bucket_of
from gello_queue.events import Events, JobFailed, JobProcessed, JobReserved, JobRetrying
from gello_queue.inspection import PERCENTILES, Inspector
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


class Measured:
    """What the worker itself measured, per (queue, job) and per queue: the exact values
    the stored histograms must reproduce to the bucket."""

    def __init__(self) -> None:
        self.runs: dict[tuple[str, str | None], list[float]] = {}
        self.waits: dict[tuple[str, str | None], list[float]] = {}

    def __call__(self, event: object) -> None:
        if isinstance(event, JobReserved):
            self._add(self.waits, event.queue, event.name, event.wait_s)
        elif isinstance(event, JobProcessed | JobFailed | JobRetrying):
            self._add(self.runs, event.queue, event.name, event.duration_s)

    @staticmethod
    def _add(into: dict[tuple[str, str | None], list[float]], q: str, job: str, v: float) -> None:
        into.setdefault((q, job), []).append(v)
        into.setdefault((q, None), []).append(v)


def nearest_rank(values: list[float], q: float) -> float:
    return sorted(values)[max(1, math.ceil(q * len(values))) - 1]


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
    measured = Measured()
    worker = Worker(
        connection=queue,
        registry=registry,
        queues=["stats-fast", "stats-slow"],
        concurrency=4,
        sleep_s=0.02,
        extensions=[],
        events=Events([measured]),
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
    fast = report.queue("stats-fast")
    assert quick is not None
    assert slow is not None
    assert failing is not None
    assert fast is not None
    assert [r.queue for r in report.queues] == ["stats-fast", "stats-slow"]
    assert (quick.processed, quick.failed) == (12, 0)
    assert (slow.processed, slow.failed) == (4, 0)
    assert (failing.processed, failing.failed, failing.failure_rate) == (0, 3, 1.0)
    assert (fast.processed, fast.failed, fast.failure_rate) == (12, 3, 0.2)
    assert fast.per_minute == pytest.approx(15 / 10)

    # Every percentile, per class and per queue, is in the bucket of the exact one.
    rows = [*report.jobs, *report.queues]
    assert len(rows) == 5
    for row in rows:
        key = (row.queue, row.job)
        for q in PERCENTILES:
            assert bucket_of(row.run_p(q) or -1) == bucket_of(nearest_rank(measured.runs[key], q))
            assert bucket_of(row.wait_p(q) or -1) == bucket_of(nearest_rank(measured.waits[key], q))
        assert sum(row.wait.values()) == row.ended  # each job started once
    # And those are the known run times: a sleep never ends early, and a 200 ms one is
    # not taken for anything else, however loaded the machine.
    assert bucket_of(quick.run_p(0.5) or 0) >= bucket_of(0.01)
    assert 0.2 / 2**0.25 <= (slow.run_p(0.5) or 0) < 0.4
    # Waits from dispatch to start: never negative, never more than the test took.
    assert 0 < (fast.wait_p(0.99) or 0) <= took * 2**0.25
