"""What a worker counts for the timing stats: a wait per start (a delayed job's from its
due time, as the ``gello_job_wait_seconds`` histogram has it), a run time per attempt,
and processed or failed once per job."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from helpers import eventually
from pydantic import BaseModel

from gello_queue import Job, NotSupportedError, Queue, Worker
from gello_queue.core.timing import TimingCount, bucket_of
from gello_queue.drivers.memory import MemoryDriver
from gello_queue.events import Events
from gello_queue.inspection import Inspector
from gello_queue.metrics import JobMetrics, scrape
from gello_queue.worker.status import Counters
from gello_queue.worker.timings import TimingTally


class Nap(BaseModel):
    seconds: float


class Napper(Job[Nap]):
    queue = "timed"

    async def handle(self, payload: Nap) -> None:
        await asyncio.sleep(payload.seconds)


class FailsTwice(Job[Nap]):
    queue = "timed"
    tries = 2
    backoff = 0

    async def handle(self, payload: Nap) -> None:
        raise RuntimeError("always")


def ended_both(counters: Counters) -> bool:
    return (counters.processed, counters.failed) == (1, 1)


def sample(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str) -> float:
    return sum(v for (n, labels), v in samples.items() if n == name and ("job", "Napper") in labels)


async def test_waits_count_from_the_due_time_and_every_attempt_counts_its_run() -> None:
    queue = Queue(f"memory://timings-{uuid.uuid4().hex}")
    await Napper.dispatch(seconds=0.05, connection=queue, delay=1.0)
    await FailsTwice.dispatch(seconds=0, connection=queue)
    metrics = JobMetrics()
    worker = Worker(["timed"], connection=queue, sleep_s=0.01, events=Events(), extensions=[])
    metrics.attach(worker, every_s=0.05)
    running = asyncio.create_task(worker.start())
    try:
        await eventually(lambda: asyncio.sleep(0, worker.counters), ended_both)
    finally:
        worker.stop()
        await asyncio.wait_for(running, 10)

    report = await Inspector(queue).stats(window_s=600)
    napper = report.job("Napper", "timed")
    failing = report.job("FailsTwice", "timed")
    assert napper is not None
    assert failing is not None
    # Dispatched a second before it was due: it waited for its due time, not from dispatch.
    assert sum(napper.wait.values()) == 1
    assert (napper.wait_p(1.0) or 0) < 0.5
    assert bucket_of(0.05) <= bucket_of(napper.run_p(0.5) or 0) < bucket_of(0.2)
    assert (failing.processed, failing.failed) == (0, 1)
    assert sum(failing.run.values()) == 2  # both attempts ran
    assert sum(failing.wait.values()) == 2  # and both started
    # Prometheus has the same wait, under the same labels as the run time.
    metrics.flush()
    s = scrape(metrics.render().decode())
    assert sample(s, "gello_job_wait_seconds_count") == 1
    assert sample(s, "gello_job_wait_seconds_sum") < 0.5
    assert sample(s, "gello_job_run_seconds_count") == 1


class KeepsNoTimings(MemoryDriver):
    """A driver behind a wrapper that offers the port its driver lacks."""

    async def record_timings(self, counts: Sequence[TimingCount]) -> None:
        raise NotSupportedError("the memory driver cannot keep wait and run times")


async def test_a_driver_that_keeps_no_timings_costs_the_worker_nothing() -> None:
    driver = KeepsNoTimings()
    queue = Queue("memory://no-timings", factory=lambda: driver)
    for _ in range(3):
        await Napper.dispatch(seconds=0, connection=queue)
    events = Events()
    worker = Worker(
        ["timed"], connection=queue, sleep_s=0.01, lease_s=1.5, events=events, extensions=[]
    )
    running = asyncio.create_task(worker.start())
    try:
        await eventually(lambda: asyncio.sleep(0, worker.counters.processed), lambda n: n == 3)
        # Its heartbeat tried once, and the worker stopped counting: no listener is left.
        await eventually(
            lambda: asyncio.sleep(0, events.listeners),
            lambda found: not any(isinstance(x, TimingTally) for x in found),
        )
        await Napper.dispatch(seconds=0, connection=queue)
        await eventually(lambda: asyncio.sleep(0, worker.counters.processed), lambda n: n == 4)
    finally:
        worker.stop()
        await asyncio.wait_for(running, 10)
