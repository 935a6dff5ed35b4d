"""The failover connection searches, counts and acts on queued jobs connection after
connection, one cursor continuing across them."""

from __future__ import annotations

from helpers import envelope

from gello_queue.core.failed_query import FailedQuery
from gello_queue.core.states import JobState
from gello_queue.drivers.failover import FailoverDriver
from gello_queue.drivers.memory import MemoryDriver


async def test_pages_counts_and_steps_span_every_connection() -> None:
    first, second = MemoryDriver(), MemoryDriver()
    both = FailoverDriver([first, second])
    await both.open()
    ones = await first.push([envelope("emails", name="Sync") for _ in range(7)])
    twos = await second.push([envelope("emails", name="Sync") for _ in range(6)])
    query = FailedQuery(name="sync")

    seen: list[str] = []
    cursor = None
    while True:
        page = await both.jobs_search(JobState.PENDING, query, limit=4, cursor=cursor)
        seen += [j.id for j in page.jobs]
        if page.cursor is None:
            break
        cursor = page.cursor
    assert sorted(seen) == sorted(ones + twos)
    assert len(seen) == len(set(seen)) == 13
    full = await both.jobs_search(JobState.PENDING, query, limit=7)
    assert full.cursor is not None  # the second connection holds more
    assert (await both.jobs_tally(JobState.PENDING, query)).count == 13

    done, cursor = 0, None
    while True:
        step = await both.jobs_cancel_step(JobState.PENDING, query, limit=5, cursor=cursor)
        done, cursor = done + step.done, step.cursor
        if cursor is None:
            break
    assert done == 13
    assert (await both.jobs_tally(JobState.PENDING, FailedQuery())).count == 0
    await both.close()
