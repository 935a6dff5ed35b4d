"""Conformance of settling leased jobs: one ack call over several queues applies what
it may and names what it may not, a lease runs by the backend's own clock, and a
released job comes back after its delay as it was released."""

from __future__ import annotations

from helpers import envelope, eventually

from gello_queue.core.envelope import Envelope
from gello_queue.ports import QueueDriver, Reservation

W = "worker-1"


async def reserve_all(driver: QueueDriver, queues: list[str], count: int) -> list[Reservation]:
    held: list[Reservation] = []

    async def more() -> int:
        held.extend(await driver.reserve(queues, count - len(held), lease_s=30, worker_id=W))
        return len(held)

    await eventually(more, lambda n: n >= count)
    return held


async def test_one_ack_over_several_queues_refuses_only_stale_tokens(driver: QueueDriver) -> None:
    await driver.push([envelope(q) for q in ("a", "b", "c") for _ in range(5)])
    held = await reserve_all(driver, ["a", "b", "c"], 15)
    assert {r.queue for r in held} == {"a", "b", "c"}
    forged = [Reservation(r.id, r.queue, "stale", 1, "", 0.0) for r in held[::5]]
    assert await driver.ack(forged) == [r.id for r in forged]
    assert await driver.ack(held) == []
    assert sorted(await driver.ack(held)) == sorted(r.id for r in held)
    counts = await driver.counts()
    assert all(c.total == 0 for c in counts.values()), counts


async def test_a_lease_runs_from_the_backends_clock(driver: QueueDriver) -> None:
    await driver.push([envelope()])
    before = await driver.now()
    [res] = await reserve_all(driver, ["default"], 1)
    after = await driver.now()
    assert before + 30 <= res.lease_expires_at <= after + 30


async def test_a_released_job_comes_back_after_its_delay_as_released(driver: QueueDriver) -> None:
    env = envelope(max_attempts=1)
    await driver.push([env])
    [res] = await reserve_all(driver, ["default"], 1)
    back = Envelope.decode(res.body).with_changes(attempts=0, reason="rate limited")
    assert await driver.release(res, back, 0.3) is True
    assert await driver.release(res, back, 0) is False  # released once only
    assert await driver.reserve(["default"], 1, lease_s=30, worker_id=W) == []  # not yet
    [again] = await reserve_all(driver, ["default"], 1)
    assert (again.id, again.attempts) == (env.id, 1)  # the release used no attempt
    assert Envelope.decode(again.body).reason == "rate limited"
