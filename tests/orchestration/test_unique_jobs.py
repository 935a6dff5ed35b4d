"""Unique jobs and debounce through the Job API and real workers, on every driver."""

from __future__ import annotations

import asyncio

from orch_helpers import running, until
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue
from gello_queue.core.states import JobState

registry = JobRegistry()
ran: list[tuple[str, int]] = []


class P(BaseModel):
    user: int
    n: int = 0


class Sync(Job[P], register=False):
    unique = True

    async def handle(self, payload: P) -> None:
        ran.append(("sync", payload.user))


class PerUser(Job[P], register=False):
    unique = True
    unique_until = "processing"

    def unique_id(self, payload: P) -> str:
        return str(payload.user)

    async def handle(self, payload: P) -> None:
        ran.append(("per-user", payload.n))
        await asyncio.sleep(0.3)


class Search(Job[P], register=False):
    debounce = 0.3

    def unique_id(self, payload: P) -> str:
        return str(payload.user)

    async def handle(self, payload: P) -> None:
        ran.append(("search", payload.n))


for cls in (Sync, PerUser, Search):
    registry.register(cls)


async def test_a_second_dispatch_says_it_is_a_duplicate(queue: Queue) -> None:
    first = await Sync.dispatch(user=1, connection=queue)
    again = await Sync.dispatch(user=1, connection=queue)
    other = await Sync.dispatch(user=2, connection=queue)
    assert not first.duplicate
    assert first.duplicate_of is None
    assert again.duplicate
    assert again.duplicate_of == first
    assert again == first
    assert again.requested_id != first
    assert not other.duplicate
    assert (await queue.size()) == 2


async def test_the_lock_is_released_when_the_job_is_processed(queue: Queue) -> None:
    ran.clear()
    await Sync.dispatch(user=7, connection=queue)
    async with running(queue, registry):
        await until(lambda: ("sync", 7) in ran)
        await until(lambda: _empty(queue))
        again = await Sync.dispatch(user=7, connection=queue)
        assert not again.duplicate
        await until(lambda: ran.count(("sync", 7)) == 2)


async def test_until_processing_starts_lets_a_new_job_in_while_one_runs(queue: Queue) -> None:
    ran.clear()
    first = await PerUser.dispatch(user=1, n=1, connection=queue)
    assert (await PerUser.dispatch(user=1, n=2, connection=queue)).duplicate_of == first
    async with running(queue, registry):
        await until(lambda: ("per-user", 1) in ran)
        # Delayed, so it is surely still waiting when the next dispatch comes.
        second = await PerUser.dispatch(user=1, n=3, delay=0.3, connection=queue)
        assert not second.duplicate
        assert (await PerUser.dispatch(user=1, n=4, connection=queue)).duplicate_of == second
        await until(lambda: ("per-user", 3) in ran)
    assert ran == [("per-user", 1), ("per-user", 3)]


async def test_debounce_runs_the_last_payload_once(queue: Queue) -> None:
    ran.clear()
    ids = [await Search.dispatch(user=1, n=i, connection=queue) for i in range(5)]
    driver = await queue.driver()
    assert [await driver.find(i) is not None for i in ids] == [False] * 4 + [True]
    record = await driver.find(ids[-1])
    assert record is not None
    assert record.state is JobState.SCHEDULED
    async with running(queue, registry):
        await until(lambda: ran)
        await until(lambda: _empty(queue))
    assert ran == [("search", 4)]


async def test_two_workers_racing_dispatches_store_one_job(queue: Queue) -> None:
    results = await asyncio.gather(*(Sync.dispatch(user=9, connection=queue) for _ in range(30)))
    assert len({str(r) for r in results}) == 1
    assert sum(not r.duplicate for r in results) == 1


async def _empty(queue: Queue) -> bool:
    counts = await (await queue.driver()).counts()
    return all(c.total == 0 for c in counts.values())
