"""The memory driver's index of waiting jobs: each job is given out once, however often
it was filed (pushed, released, promoted, rescued). Priority order across delays is in
tests/contract/test_queue_contract.py."""

from __future__ import annotations

from helpers import envelope

from gello_queue.drivers.memory import MemoryDriver, MemoryStore


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def reserve_ids(driver: MemoryDriver, limit: int = 10) -> list[str]:
    got = await driver.reserve(["default"], limit, lease_s=30, worker_id="w")
    return [r.id for r in got]


async def test_a_job_filed_again_is_given_out_once() -> None:
    clock = Clock()
    driver = MemoryDriver(MemoryStore(clock))
    env = envelope(available_at=clock.now)
    await driver.push([env])
    [res] = await driver.reserve(["default"], 1, lease_s=30, worker_id="w")
    assert await driver.release(res, env, 60)  # filed for in a minute
    assert await driver.promote(env.id)  # and filed again, due now
    [res] = await driver.reserve(["default"], 1, lease_s=30, worker_id="w")
    assert res.id == env.id
    assert await driver.release(res, env, 500)  # filed for later still
    clock.now += 120  # the first filing's minute has passed: it counts no more
    assert await reserve_ids(driver) == []
    clock.now += 400
    [res] = await driver.reserve(["default"], 1, lease_s=30, worker_id="w")
    assert res.id == env.id
    assert await reserve_ids(driver) == []
    clock.now += 60  # its lease lapses: rescue files it once more, and once only
    assert (await driver.rescue()).requeued == [env.id]
    assert await reserve_ids(driver) == [env.id]
    assert await reserve_ids(driver) == []
