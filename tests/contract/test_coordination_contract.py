"""Conformance: counters, locks and batch bookkeeping behave the same on every driver
(and the sync connection, which stores them like any driver)."""

from __future__ import annotations

import asyncio

import pytest
from helpers import envelope, eventually

from gello_queue.ports import BatchRecord, QueueDriver


@pytest.mark.inline_too
async def test_counter_adds_and_returns_the_new_value(driver: QueueDriver) -> None:
    assert await driver.counter_incr("hits", 1, 30) == 1
    assert await driver.counter_incr("hits", 2, 30) == 3
    assert await driver.counter_incr("hits", -1, 30) == 2
    assert await driver.counter_incr("other", 5, 30) == 5


@pytest.mark.inline_too
async def test_counter_window_is_fixed_and_restarts_after_expiry(driver: QueueDriver) -> None:
    assert await driver.counter_incr("w", 1, 0.3) == 1
    assert await driver.counter_incr("w", 1, 30) == 2  # adding does not extend the window
    await eventually(lambda: driver.counter_incr("w", 0, 30), lambda v: v == 0, timeout_s=5)


@pytest.mark.inline_too
async def test_concurrent_increments_are_all_counted(driver: QueueDriver) -> None:
    results = await asyncio.gather(*(driver.counter_incr("race", 1, 30) for _ in range(40)))
    assert sorted(results) == list(range(1, 41))


@pytest.mark.inline_too
async def test_lock_has_one_owner_until_released_or_expired(driver: QueueDriver) -> None:
    assert await driver.lock_acquire("L", "a", 30)
    assert not await driver.lock_acquire("L", "b", 30)
    assert await driver.lock_acquire("L", "a", 30)  # the owner renews it
    assert not await driver.lock_release("L", "b")
    assert await driver.lock_release("L", "a")
    assert not await driver.lock_release("L", "a")
    assert await driver.lock_acquire("L", "b", 0.2)
    await eventually(lambda: driver.lock_acquire("L", "c", 30), timeout_s=5)


@pytest.mark.inline_too
async def test_locks_and_counters_do_not_share_keys(driver: QueueDriver) -> None:
    assert await driver.lock_acquire("same", "a", 30)
    assert await driver.counter_incr("same", 1, 30) == 1
    assert not await driver.lock_acquire("same", "b", 30)


@pytest.mark.inline_too
async def test_racing_lock_takers_get_one_winner(driver: QueueDriver) -> None:
    won = await asyncio.gather(*(driver.lock_acquire("once", f"w{i}", 30) for i in range(20)))
    assert sum(won) == 1


# Not inline_too: the sync connection runs a batch's jobs as they are pushed.
async def test_batch_push_stores_the_batch_and_its_jobs(driver: QueueDriver) -> None:
    # Brokers keep batch records in their database store; their jobs are pushed apart.
    joint = "batch_push" in driver.capabilities
    envs = [envelope(batch_id="b1") for _ in range(3)] if joint else []
    ids = await driver.batch_push(BatchRecord("b1", "import", 3, options='{"x": 1}'), envs)
    assert ids == [e.id for e in envs]
    if joint:
        assert (await driver.counts())["default"].pending == 3
    found = await driver.batch_find("b1")
    assert found is not None
    assert (found.name, found.total, found.pending, found.options) == ("import", 3, 3, '{"x": 1}')
    assert found.created_at > 0
    assert not found.finished
    assert not found.cancelled
    more = [envelope(batch_id="b1")] if joint else []
    await driver.batch_push(BatchRecord("b1", "import", 1), more)
    found = await driver.batch_find("b1")
    assert found is not None
    assert found.total == 4
    assert found.options == '{"x": 1}'


@pytest.mark.inline_too
async def test_batch_marks_count_once_per_job(driver: QueueDriver) -> None:
    await driver.batch_push(BatchRecord("b", "n", 3), [])
    rec = await driver.batch_mark("b", "j1", False)
    assert rec is not None
    assert (rec.processed, rec.failed, rec.pending) == (1, 0, 2)
    rec = await driver.batch_mark("b", "j1", False)
    assert rec is not None
    assert (rec.processed, rec.failed) == (1, 0)
    rec = await driver.batch_mark("b", "j2", True)
    assert rec is not None
    assert (rec.processed, rec.failed) == (1, 1)
    assert not rec.finished
    found = await driver.batch_find("b")
    assert found is not None
    assert found.failed_ids == ("j2",)
    light = await driver.batch_find("b", with_failed=False)
    assert light is not None
    assert (light.failed, light.failed_ids) == (1, ())
    rec = await driver.batch_mark("b", "j2", False)  # retried, then succeeded
    assert rec is not None
    assert (rec.processed, rec.failed) == (2, 0)
    rec = await driver.batch_mark("b", "j3", True)
    assert rec is not None
    assert rec.finished
    assert rec.percent == 100.0
    assert await driver.batch_mark("missing", "j", False) is None


@pytest.mark.inline_too
async def test_last_two_marks_at_once_finish_the_batch_once(driver: QueueDriver) -> None:
    await driver.batch_push(BatchRecord("b", "n", 2), [])
    a, b = await asyncio.gather(
        driver.batch_mark("b", "j1", False), driver.batch_mark("b", "j2", False)
    )
    assert a is not None
    assert b is not None
    # Exactly one of them saw the batch complete with its own mark.
    assert sorted([a.processed, b.processed]) == [1, 2]


@pytest.mark.inline_too
async def test_batch_cancel_list_and_prune(driver: QueueDriver) -> None:
    await driver.batch_push(BatchRecord("old", "a", 1), [])
    await driver.batch_push(BatchRecord("new", "b", 1), [])
    assert [b.id for b in await driver.batch_list()] == ["new", "old"]
    assert await driver.batch_cancel("old")
    assert not await driver.batch_cancel("nope")
    found = await driver.batch_find("old")
    assert found is not None
    assert found.cancelled
    assert await driver.batch_cancel("old", cancelled=False)
    found = await driver.batch_find("old")
    assert found is not None
    assert not found.cancelled
    assert await driver.batch_cancel("old")
    assert await driver.batch_prune(await driver.now() - 60) == 0
    assert await driver.batch_prune(await driver.now() + 1) == 1
    assert [b.id for b in await driver.batch_list()] == ["new"]
    await driver.batch_mark("new", "j", False)
    assert await driver.batch_prune(await driver.now() + 1) == 1
    assert await driver.batch_list() == []
