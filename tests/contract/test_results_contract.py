"""Conformance of the result store on every connection that has one: a result put is
read back until its ttl passes, then it is gone; an id never kept reads as none."""

from __future__ import annotations

import asyncio

import pytest
from helpers import eventually

from gello_queue.ports import QueueDriver, ResultStore


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
