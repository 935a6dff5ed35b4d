"""Conformance of an idle worker's wait: a push by another process wakes it within
milliseconds, a scheduled job wakes it when due, a release wakes it, and with nothing to
do it sleeps its full timeout."""

from __future__ import annotations

import asyncio
import statistics
import time

from helpers import envelope, eventually

from gello_queue.core.envelope import Envelope
from gello_queue.ports import Capability, QueueDriver, Reservation

W = "worker-1"

MEDIAN_WAKE_S = 0.02
MEDIAN_WAKE_S_OF = {"sqs": 0.1}
"""The emulated SQS (moto) answers a long poll by looking again every 20 ms."""


async def test_a_push_by_another_process_wakes_a_waiter_within_milliseconds(
    driver: QueueDriver, peer: QueueDriver
) -> None:
    latencies: list[float] = []
    for _ in range(10):
        assert await driver.reserve(["default"], 1, lease_s=30, worker_id=W) == []
        waiting = asyncio.create_task(driver.wait(["default"], 5.0))
        await asyncio.sleep(0)  # the waiter starts waiting
        start = time.perf_counter()
        await peer.push([envelope()])
        await waiting
        latencies.append(time.perf_counter() - start)
        held = await eventually(lambda: driver.reserve(["default"], 1, lease_s=30, worker_id=W))
        assert await driver.ack(held) == []
    budget = MEDIAN_WAKE_S_OF.get(driver.name, MEDIAN_WAKE_S)
    assert statistics.median(latencies) < budget, latencies
    assert max(latencies) < 0.5, latencies


async def test_a_scheduled_job_wakes_the_waiter_when_due(
    driver: QueueDriver, peer: QueueDriver
) -> None:
    # As a worker loops: an empty reserve, a wait, a reserve again. A wait may end early
    # (the push itself woke it); the job is taken when due, not before, not much after.
    assert await driver.reserve(["default"], 1, lease_s=30, worker_id=W) == []
    await peer.push([envelope(available_at=await peer.now() + 0.5)])
    start = time.monotonic()
    taken: list[Reservation] = []
    while not taken and time.monotonic() - start < 5.0:
        await driver.wait(["default"], 5.0)
        taken = await driver.reserve(["default"], 1, lease_s=30, worker_id=W)
    assert taken
    assert 0.2 < time.monotonic() - start < 1.5


async def test_wait_sleeps_its_timeout_without_work(driver: QueueDriver) -> None:
    assert await driver.reserve(["default"], 1, lease_s=30, worker_id=W) == []
    start = time.monotonic()
    await driver.wait(["default"], 0.3)
    assert 0.25 < time.monotonic() - start < 1.5


async def test_a_release_wakes_the_waiter(driver: QueueDriver, peer: QueueDriver) -> None:
    await driver.push([envelope()])
    [res] = await eventually(lambda: driver.reserve(["default"], 1, lease_s=30, worker_id=W))
    await peer.wait(["default"], 0.3)  # takes in what the push left for waiters
    waiting = asyncio.create_task(peer.wait(["default"], 5.0))
    await asyncio.sleep(0)
    start = time.monotonic()
    assert await driver.release(res, Envelope.decode(res.body), 0)
    await waiting
    assert time.monotonic() - start < 0.5
    await eventually(lambda: peer.reserve(["default"], 1, lease_s=30, worker_id=W))


async def test_resuming_a_queue_wakes_its_waiter(driver: QueueDriver, peer: QueueDriver) -> None:
    await driver.pause("emails")
    assert await driver.reserve(["emails"], 1, lease_s=30, worker_id=W) == []
    if Capability.RESUME_WAKES not in driver.capabilities:
        # The resume holds, and the waiter sees it when its wait runs out.
        await peer.resume("emails")
        assert await driver.paused() == set()
        start = time.monotonic()
        await driver.wait(["emails"], 0.3)
        assert 0.25 < time.monotonic() - start < 1.5
        return
    waiting = asyncio.create_task(driver.wait(["emails"], 5.0))
    await asyncio.sleep(0)  # the waiter starts waiting
    await peer.resume("emails")
    resumed = time.monotonic()
    await waiting
    assert time.monotonic() - resumed < 0.5


async def test_a_push_between_an_empty_reserve_and_the_next_wait_is_not_missed(
    driver: QueueDriver, peer: QueueDriver
) -> None:
    # A worker goes from an empty reserve to its wait: a job pushed in between wakes it.
    assert await driver.reserve(["default"], 1, lease_s=30, worker_id=W) == []
    await peer.push([envelope()])
    start = time.monotonic()
    await driver.wait(["default"], 5.0)
    assert time.monotonic() - start < 0.5
    await eventually(lambda: driver.reserve(["default"], 1, lease_s=30, worker_id=W))
