"""Every driver rescues an expired lease as core decides (``core.rescue.rescue_fails``):
the Lua and SQL copies of the rule, and the brokers' own bookkeeping, are held to it."""

from __future__ import annotations

import pytest
from helpers import envelope, eventually

from gello_queue.core.envelope import Envelope
from gello_queue.core.rescue import LOST_WORKER_EXCEPTION, LOST_WORKER_REASON, rescue_fails
from gello_queue.ports import QueueDriver, Reservation

W = "worker-1"


async def reserve_one(driver: QueueDriver, lease_s: float) -> Reservation:
    batch = await eventually(
        lambda: driver.reserve(["default"], 1, lease_s=lease_s, worker_id=W), bool
    )
    return batch[0]


@pytest.mark.parametrize(("max_attempts", "runs"), [(1, 1), (2, 1), (2, 2), (3, 2)])
async def test_an_expired_lease_goes_where_core_decides(
    driver: QueueDriver, max_attempts: int, runs: int
) -> None:
    env = envelope(max_attempts=max_attempts)
    await driver.push([env])
    for _ in range(runs - 1):
        # A retry: the attempt stays used, the job comes back at once.
        res = await reserve_one(driver, 30)
        back = Envelope.decode(res.body).with_changes(attempts=res.attempts)
        assert await driver.release(res, back, 0)
    res = await reserve_one(driver, 0.3)  # its worker dies: the lease runs out
    assert res.attempts == runs
    rescued = await eventually(driver.rescue, lambda r: bool(r.failed or r.requeued))
    assert rescued.held_by == {env.id: W}  # whose lease it was: the event names that worker
    if rescue_fails(res.attempts, max_attempts):
        assert (rescued.failed, rescued.requeued) == ([env.id], [])
        failed = await driver.failed_find(env.id)
        assert failed is not None
        assert (failed.exception, failed.message) == (LOST_WORKER_EXCEPTION, LOST_WORKER_REASON)
    else:
        assert (rescued.failed, rescued.requeued) == ([], [env.id])
        again = await reserve_one(driver, 30)
        assert (again.id, again.attempts) == (env.id, runs + 1)


def test_the_decision() -> None:
    assert rescue_fails(1, 1)
    assert not rescue_fails(1, 2)
    assert rescue_fails(3, 2)  # a count past the limit (an older, larger tries) fails too
    assert not rescue_fails(5, None)  # an unknown limit never fails here
