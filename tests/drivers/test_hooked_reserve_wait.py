"""Drivers wrapped for metrics and tracing keep the Redis idle wait-and-lease, and its
reservations reach the reserve observers like any others."""

from __future__ import annotations

from backends.redis import open_driver
from helpers import envelope

from gello_queue.dispatch_hooks import DispatchHooks, HookedDriver
from gello_queue.drivers.memory import MemoryDriver
from gello_queue.ports import Reservation, ReserveWait


async def test_reserve_wait_is_observed_and_absent_where_the_driver_lacks_it() -> None:
    assert not isinstance(HookedDriver.of(MemoryDriver(), DispatchHooks()), ReserveWait)
    seen: list[Reservation] = []
    async with open_driver(None) as redis:
        hooked = HookedDriver.of(redis, DispatchHooks(reserve=[seen.extend]))
        assert isinstance(hooked, ReserveWait)
        env = envelope()
        await redis.push([env])
        got = await hooked.reserve_wait(["default"], 2, lease_s=30, worker_id="w", timeout_s=1)
        assert [r.id for r in got] == [env.id]
        assert seen == got
