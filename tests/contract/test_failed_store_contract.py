"""Conformance of the failed store across queues: one newest-first list, paged and
filtered by queue, counted, and retried as a whole."""

from __future__ import annotations

from helpers import envelope, eventually

from gello_queue.ports import Failure, QueueDriver

W = "worker-1"


async def test_failed_jobs_of_several_queues_page_newest_first(driver: QueueDriver) -> None:
    ids = []
    for i in range(6):
        env = envelope(("a", "b", "c")[i % 3])
        await driver.push([env])
        [res] = await eventually(
            lambda q=env.queue: driver.reserve([q], 1, lease_s=30, worker_id=W)
        )
        assert await driver.fail(res, env.encode().decode(), Failure("E", str(i)))
        ids.append(env.id)
    listed = [f.id for f in await driver.failed_list(limit=4)]
    listed += [f.id for f in await driver.failed_list(limit=4, offset=4)]
    assert listed == ids[::-1]
    assert [f.id for f in await driver.failed_list(queue="a")] == [ids[3], ids[0]]
    assert await driver.failed_count() == 6
    assert await driver.failed_retry_all() == 6
    assert await driver.failed_count() == 0
