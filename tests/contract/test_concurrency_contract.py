"""Conformance under concurrency: two processes (a driver and its peer on the same
storage) reserving, acking and rescuing at once never hand a job out twice, never lose
one, and settle each expired lease once."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from helpers import envelope, eventually

from gello_queue.ports import QueueDriver, Reservation

JOBS = 100


async def reserve_all(driver: QueueDriver, count: int, lease_s: float) -> list[Reservation]:
    """Reserve ``count`` jobs (a broker hands out what it has received so far)."""
    held: list[Reservation] = []

    async def more() -> int:
        held.extend(
            await driver.reserve(["default"], count - len(held), lease_s=lease_s, worker_id="w")
        )
        return len(held)

    await eventually(more, lambda n: n >= count)
    return held


async def queued(driver: QueueDriver) -> int:
    """Jobs of the default queue waiting to run: pending, or received by a broker driver
    ahead of a reserve (which counts them reserved)."""
    counts = (await driver.counts()).get("default")
    return counts.pending + counts.reserved if counts else 0


async def test_concurrent_reservers_take_every_job_exactly_once(
    driver: QueueDriver, peer: QueueDriver
) -> None:
    await driver.push([envelope(payload={"n": i}, priority=i % 3) for i in range(JOBS)])
    taken: list[tuple[str, int]] = []
    deadline = time.monotonic() + 30

    async def drain(d: QueueDriver, name: str) -> None:
        while len(taken) < JOBS and time.monotonic() < deadline:
            got = await d.reserve(["default"], 7, lease_s=60, worker_id=name)
            if not got:
                await d.wait(["default"], 0.05)  # a broker's deliveries still on the way
                continue
            taken.extend((r.id, r.attempts) for r in got)
            assert await d.ack(got) == []

    await asyncio.gather(*(drain(d, f"{d is peer}-{i}") for d in (driver, peer) for i in range(3)))
    counts = Counter(job_id for job_id, _ in taken)
    assert len(counts) == JOBS
    assert set(counts.values()) == {1}
    assert {attempts for _, attempts in taken} == {1}
    left = (await driver.counts()).get("default")
    assert left is None or left.total == 0


async def test_ack_racing_rescue_has_exactly_one_winner(
    driver: QueueDriver, peer: QueueDriver
) -> None:
    await driver.push([envelope() for _ in range(JOBS)])
    held = await reserve_all(driver, JOBS, lease_s=1.0)
    expires = max(r.lease_expires_at for r in held)
    await eventually(driver.now, lambda now: now > expires)
    acked, rescued_here, rescued_there = await asyncio.gather(
        asyncio.gather(*(driver.ack(held[i : i + 10]) for i in range(0, JOBS, 10))),
        driver.rescue(),
        peer.rescue(),
    )
    refused = [job_id for part in acked for job_id in part]
    rescued = rescued_here.requeued + rescued_there.requeued
    # Each job: acked, or back in the queue and its ack refused. A broker takes back an
    # expired delivery by itself, so its rescue may report fewer than were refused.
    assert set(rescued) <= set(refused)
    assert len(rescued) == len(set(rescued))
    if driver.name == "sqs":
        # SQS may accept a delete whose receipt handle outlived its visibility timeout
        # without deleting: that job runs again (at least once), none is lost.
        await eventually(lambda: queued(driver), lambda n: len(refused) <= n <= JOBS)
    else:
        await eventually(lambda: queued(driver), lambda n: n == len(refused))


async def test_concurrent_rescuers_settle_each_expired_lease_once(
    driver: QueueDriver, peer: QueueDriver
) -> None:
    await driver.push([envelope(max_attempts=1) for _ in range(15)])
    await driver.push([envelope(max_attempts=5) for _ in range(15)])
    held = await reserve_all(driver, 30, lease_s=0.2)
    failed: list[str] = []
    requeued: list[str] = []

    async def settled() -> int:
        for result in await asyncio.gather(driver.rescue(), peer.rescue()):
            failed.extend(result.failed)
            requeued.extend(result.requeued)
        return len(failed) + len(requeued)

    await eventually(settled, lambda n: n >= len(held))
    assert len(failed) == len(set(failed)) == 15
    assert len(requeued) == len(set(requeued)) == 15
    assert await driver.failed_count() == 15
    await eventually(lambda: queued(driver), lambda n: n == 15)
