"""Conformance of the result store on every connection that has one: a result put is
read back until its ttl passes, then it is gone; an id never kept reads as none."""

from __future__ import annotations

import asyncio
import time

import pytest
from helpers import eventually

from gello_queue.ports import (
    QueueDriver,
    ResultStore,
    ResultWait,
    result_store,
    wait_once_for_result,
)


def results_of(driver: QueueDriver) -> ResultStore:
    if not isinstance(driver, ResultStore):
        pytest.skip(f"the {driver.name} driver keeps no results")
    return driver


async def test_a_result_reads_back_as_it_was_put(driver: QueueDriver) -> None:
    store = results_of(driver)
    data = '{"total": 3, "lines": ["é", "b"]}'
    await store.result_put("job-1", data, 60)
    assert await store.result_get("job-1") == data


async def test_a_second_put_replaces_the_result(driver: QueueDriver) -> None:
    store = results_of(driver)
    await store.result_put("job-1", "1", 60)
    await store.result_put("job-1", "2", 60)
    assert await store.result_get("job-1") == "2"


async def test_an_unknown_id_has_no_result(driver: QueueDriver) -> None:
    store = results_of(driver)
    await store.result_put("job-1", "1", 60)
    assert await store.result_get("job-2") is None


async def test_a_result_expires_after_its_ttl(driver: QueueDriver) -> None:
    store = results_of(driver)
    await store.result_put("brief", '"soon gone"', 0.3)
    await store.result_put("kept", '"still here"', 60)
    assert await store.result_get("brief") == '"soon gone"'
    await eventually(lambda: store.result_get("brief"), lambda r: r is None, timeout_s=10)
    assert await store.result_get("kept") == '"still here"'


async def test_results_put_concurrently_are_each_kept(driver: QueueDriver) -> None:
    store = results_of(driver)
    await asyncio.gather(*(store.result_put(f"job-{i}", str(i), 60) for i in range(10)))
    assert [await store.result_get(f"job-{i}") for i in range(10)] == [str(i) for i in range(10)]


WAKES = {"redis", "postgres"}
"""Drivers whose ``result_wait`` is woken by the put itself; the others poll."""


async def test_a_waiter_gets_a_result_another_process_puts(
    driver: QueueDriver, peer: QueueDriver
) -> None:
    results_of(driver)

    async def waited() -> tuple[str | None, float]:
        deadline = time.monotonic() + 10
        data = None
        while data is None and time.monotonic() < deadline:
            data = await wait_once_for_result(driver, "awaited", 5.0)
        return data, time.monotonic()

    waiting = asyncio.create_task(waited())
    await asyncio.sleep(0.3)  # the waiter is blocked by now (a later put would be seen too)
    await result_store(peer).result_put("awaited", '"done"', 60)
    put_at = time.monotonic()
    data, woken_at = await waiting
    assert data == '"done"'
    assert woken_at - put_at < 1.0


async def test_one_wait_on_a_wake_up_returns_the_result_it_was_woken_for(
    driver: QueueDriver, peer: QueueDriver
) -> None:
    if not isinstance(driver, ResultWait) or driver.name not in WAKES:
        pytest.skip(f"the {driver.name} driver polls for results")
    waiting = asyncio.create_task(driver.result_wait("woken", 30.0))
    await asyncio.sleep(0.3)
    started = time.monotonic()
    await result_store(peer).result_put("woken", '"here"', 60)
    assert await asyncio.wait_for(waiting, 10) == '"here"'
    assert time.monotonic() - started < 1.0


async def test_a_wait_for_a_result_never_put_ends_by_its_timeout(driver: QueueDriver) -> None:
    results_of(driver)
    started = time.monotonic()
    assert await wait_once_for_result(driver, "never", 0.5) is None
    assert time.monotonic() - started < 3.0
