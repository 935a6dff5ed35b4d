"""Redis job queries without an index (name, text, age) stop at their time budget, say
so, and continue by cursor where they stopped: nothing is read twice, nothing is missed."""

from __future__ import annotations

import pytest
from backends import redis
from helpers import envelope

from gello_queue.core.failed_query import FailedQuery
from gello_queue.core.states import JobState
from gello_queue.drivers.redis import RedisDriver, job_queries


@pytest.mark.timeout(60)
async def test_a_search_past_its_budget_continues_by_cursor(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prefix = redis.unique_prefix()
    driver = RedisDriver(redis.REDIS_URL, prefix=prefix)
    await driver.open()
    try:
        for _ in range(4):
            await driver.push([envelope("bulk", name="Bulk") for _ in range(2_000)])
        needle = (await driver.push([envelope("bulk", name="Needle")]))[0]
        monkeypatch.setattr(job_queries, "TEXT_BUDGET_S", 0.001)
        monkeypatch.setattr(job_queries, "COUNT_BUDGET_S", 0.001)
        query = FailedQuery(name="needle")

        first = await driver.jobs_search(JobState.PENDING, query, limit=10)
        assert not first.complete
        assert first.cursor is not None
        found, cursor, pages = list(first.jobs), first.cursor, 1
        while cursor is not None:
            page = await driver.jobs_search(JobState.PENDING, query, limit=10, cursor=cursor)
            found += page.jobs
            cursor, pages = page.cursor, pages + 1
        assert [j.id for j in found] == [needle]
        assert pages > 1

        tally = await driver.jobs_tally(JobState.PENDING, query)
        assert not tally.complete
        assert tally.count <= 1
        monkeypatch.setattr(job_queries, "COUNT_BUDGET_S", 30.0)
        tally = await driver.jobs_tally(JobState.PENDING, query)
        assert (tally.count, tally.complete) == (1, True)
    finally:
        await redis.delete_prefix(driver, prefix)
        await driver.close()
