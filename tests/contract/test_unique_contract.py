"""Conformance: unique keys with modes (processed, processing, debounce) and expiry."""

from __future__ import annotations

import asyncio

import pytest
from helpers import envelope, eventually

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import NotSupportedError
from gello_queue.ports import Failure, QueueDriver

W = "w"


def needs_modes(driver: QueueDriver) -> None:
    """Skip on brokers: they cannot delete or inspect a queued message, so they honour
    plain unique keys only (``Queue.dispatch`` refuses the modes there)."""
    if "unique_modes" not in driver.capabilities:
        pytest.skip(f"the {driver.name} driver lacks capability 'unique_modes'")


async def test_until_processed_holds_through_reserve(driver: QueueDriver) -> None:
    a, b = envelope(unique_key="k"), envelope(unique_key="k")
    assert await driver.push([a]) == [a.id]
    [res] = await driver.reserve(["default"], 1, lease_s=30, worker_id=W)
    assert await driver.push([b]) == [a.id]
    await driver.ack([res])
    assert await driver.push([b]) == [b.id]


async def test_until_processing_starts_frees_the_key_once_reserved(driver: QueueDriver) -> None:
    needs_modes(driver)
    a = envelope(unique_key="k", unique_mode="processing")
    b = envelope(unique_key="k", unique_mode="processing")
    c = envelope(unique_key="k", unique_mode="processing")
    await driver.push([a])
    assert await driver.push([b]) == [a.id]
    [res] = await driver.reserve(["default"], 1, lease_s=30, worker_id=W)
    assert await driver.push([b]) == [b.id]
    assert await driver.push([c]) == [b.id]
    # The started job finishing does not free the new holder's key.
    await driver.ack([res])
    assert await driver.push([c]) == [b.id]


async def test_unique_for_expires_a_lock_whose_job_still_waits(driver: QueueDriver) -> None:
    needs_modes(driver)
    now = await driver.now()
    # Long enough that a loaded machine pushes the second job within it (0.3 s was not).
    a = envelope(unique_key="k", unique_for=2.0, available_at=now + 60)
    await driver.push([a])
    b = envelope(unique_key="k", unique_for=30)
    assert await driver.push([b]) == [a.id]
    await eventually(
        lambda: driver.push([envelope(id=b.id, unique_key="k", unique_for=30)]),
        lambda ids: ids == [b.id],
        timeout_s=10,
    )
    # Both exist now; the old job completing leaves the new lock alone.
    assert await driver.find(a.id) is not None
    c = envelope(unique_key="k")
    assert await driver.push([c]) == [b.id]


async def test_debounce_replaces_a_waiting_job_and_pushes_its_start_back(
    driver: QueueDriver,
) -> None:
    needs_modes(driver)
    now = await driver.now()
    first = envelope(
        unique_key="d", unique_mode="debounce", available_at=now + 0.3, payload={"n": 1}
    )
    second = envelope(
        unique_key="d", unique_mode="debounce", available_at=now + 0.6, payload={"n": 2}
    )
    assert await driver.push([first]) == [first.id]
    assert await driver.push([second]) == [second.id]
    assert await driver.find(first.id) is None
    counts = await driver.counts()
    assert counts["default"].scheduled == 1
    got = await eventually(lambda: driver.reserve(["default"], 5, lease_s=30, worker_id=W))
    assert [r.id for r in got] == [second.id]
    assert Envelope.decode(got[0].body).payload == {"n": 2}
    assert await driver.now() >= now + 0.6


async def test_debounce_in_one_bulk_keeps_the_last(driver: QueueDriver) -> None:
    needs_modes(driver)
    envs = [envelope(unique_key="d", unique_mode="debounce", payload={"n": i}) for i in range(3)]
    assert await driver.push(envs) == [e.id for e in envs]
    got = await driver.reserve(["default"], 5, lease_s=30, worker_id=W)
    assert [r.id for r in got] == [envs[-1].id]


async def test_debounce_of_a_started_job_queues_a_new_one(driver: QueueDriver) -> None:
    needs_modes(driver)
    a = envelope(unique_key="d", unique_mode="debounce")
    await driver.push([a])
    [res] = await driver.reserve(["default"], 1, lease_s=30, worker_id=W)
    b = envelope(unique_key="d", unique_mode="debounce")
    assert await driver.push([b]) == [b.id]
    assert await driver.ack([res]) == []
    assert await driver.push([envelope(unique_key="d")]) == [b.id]


async def test_failed_and_cancelled_holders_free_the_key(driver: QueueDriver) -> None:
    needs_modes(driver)
    a = envelope(unique_key="k", unique_for=60)
    await driver.push([a])
    [res] = await driver.reserve(["default"], 1, lease_s=30, worker_id=W)
    assert await driver.fail(
        res, res.body if isinstance(res.body, str) else res.body.decode(), Failure("E", "m")
    )
    b = envelope(unique_key="k", unique_for=60)
    assert await driver.push([b]) == [b.id]
    assert await driver.cancel(b.id)
    c = envelope(unique_key="k")
    assert await driver.push([c]) == [c.id]


async def test_racing_unique_pushes_store_one_job(driver: QueueDriver, peer: QueueDriver) -> None:
    envs = [envelope(unique_key="race") for _ in range(20)]
    pushers = (driver, peer)  # as two processes would
    results = await asyncio.gather(*(pushers[i % 2].push([e]) for i, e in enumerate(envs)))
    holders = {ids[0] for ids in results}
    assert len(holders) == 1
    assert (await driver.counts())["default"].pending == 1


async def test_one_bulk_with_a_repeated_unique_key_stores_its_first_holder(
    driver: QueueDriver,
) -> None:
    a, b, c = envelope(unique_key="k"), envelope(unique_key="k"), envelope()
    assert await driver.push([a, b, c]) == [a.id, a.id, c.id]
    assert (await driver.counts())["default"].pending == 2


async def test_clear_frees_the_unique_keys_of_the_jobs_it_deleted(driver: QueueDriver) -> None:
    if "clear" not in driver.capabilities:
        with pytest.raises(NotSupportedError, match="lacks the 'clear' capability"):
            await driver.clear("default")
        return
    now = await driver.now()
    due, later = envelope(unique_key="due"), envelope(unique_key="later", available_at=now + 60)
    await driver.push([due, later])
    assert await driver.push([envelope(unique_key="later")]) == [later.id]
    assert await driver.clear("default") == 2
    again = [envelope(unique_key="due"), envelope(unique_key="later")]
    assert await driver.push(again) == [e.id for e in again]
