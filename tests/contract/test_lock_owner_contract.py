"""Conformance: every driver names the live holder of a lock, and nobody once it is
released or expired."""

from __future__ import annotations

import pytest
from helpers import eventually

from gello_queue.ports import QueueDriver

# What the sync connection stores, it stores like any driver.
pytestmark = pytest.mark.inline_too


async def test_lock_owner_names_the_live_holder(driver: QueueDriver) -> None:
    assert await driver.lock_owner("L") is None
    assert await driver.lock_acquire("L", "job-1", 30)
    assert await driver.lock_owner("L") == "job-1"
    assert await driver.lock_owner("other") is None
    assert not await driver.lock_acquire("L", "job-2", 30)
    assert await driver.lock_owner("L") == "job-1"
    assert await driver.lock_release("L", "job-1")
    assert await driver.lock_owner("L") is None


async def test_a_counter_is_not_a_lock(driver: QueueDriver) -> None:
    assert await driver.counter_incr("C", 1, 30) == 1
    assert await driver.lock_owner("C") is None


async def test_an_expired_lock_has_no_owner(driver: QueueDriver) -> None:
    assert await driver.lock_acquire("E", "job-3", 2)
    assert await driver.lock_owner("E") == "job-3"
    await eventually(lambda: driver.lock_owner("E"), lambda owner: owner is None, timeout_s=10)
