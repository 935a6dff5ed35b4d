"""A Queue emits one JobDispatched per job it stores, whatever the push path: dispatch,
bulk, batch members, chain links, and the links and callbacks its workers push."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from gello_queue import Batch, Chain, Envelope, Job, JobRegistry, Queue, Worker
from gello_queue.dispatch_hooks import HookedDriver, emit_dispatches
from gello_queue.drivers.memory import MemoryDriver
from gello_queue.events import Events, JobDispatched, JobProcessed

registry = JobRegistry()


class N(BaseModel):
    n: int


class Emitted(Job[N], register=False):
    async def handle(self, payload: N) -> None:
        return None


class EmittedOnce(Job[N], register=False):
    unique = True

    async def handle(self, payload: N) -> None:
        return None


registry.register(Emitted)
registry.register(EmittedOnce)


def listening(queue: Queue) -> list[JobDispatched]:
    seen: list[JobDispatched] = []
    queue.events.subscribe(seen.append)
    return seen


def memory_queue() -> Queue:
    return Queue(f"memory://dispatch-events-{uuid.uuid4().hex}", registry=registry)


async def drain(queue: Queue, *listeners: Callable[[Any], None]) -> None:
    events = Events(list(listeners))
    worker = Worker(
        connection=queue, registry=registry, stop_when_empty=True, sleep_s=0.01, events=events
    )
    await asyncio.wait_for(worker.start(), 10)


async def test_every_producer_path_emits_one_event_per_job_stored() -> None:
    queue = memory_queue()
    seen = listening(queue)
    one = await Emitted.dispatch(n=1, delay=5, connection=queue)
    many = await queue.bulk([Emitted.make(n=2), Emitted.make(n=3)])
    batch_id = await Batch([Emitted.make(n=4), Emitted.make(n=5)], then=Emitted.make(n=6)).dispatch(
        queue
    )
    chain_id = await Chain([Emitted.make(n=7), Emitted.make(n=8)]).dispatch(queue)
    driver = await queue.driver()
    assert [e.id for e in seen[:3]] + [seen[-1].id] == [one, *many, chain_id]
    for member in seen[3:5]:
        record = await driver.find(member.id)
        assert record is not None
        assert Envelope.decode(record.body).batch_id == batch_id
    assert seen[0] == JobDispatched(one, "Emitted", "default", 0, seen[0].delay_s)
    assert seen[0].delay_s == 5
    assert len(seen) == 6  # the batch's callback is pushed when the batch ends, not now


async def test_a_push_folded_into_a_unique_holder_emits_nothing() -> None:
    queue = memory_queue()
    seen = listening(queue)
    first = await EmittedOnce.dispatch(n=1, connection=queue)
    again = await EmittedOnce.dispatch(n=1, connection=queue)
    assert again.duplicate_of == first
    assert [e.id for e in seen] == [first]


async def test_pushes_made_by_a_worker_emit_too() -> None:
    queue = memory_queue()
    seen = listening(queue)
    await Chain(
        [
            Emitted.make(n=1),
            Batch([Emitted.make(n=2), Emitted.make(n=3)], then=Emitted.make(n=4)),
            Emitted.make(n=5),
        ]
    ).dispatch(queue)
    processed: list[str] = []
    await drain(queue, lambda e: processed.append(e.id) if isinstance(e, JobProcessed) else None)
    # The first link; the batch's two members, pushed by the worker, then its callback and
    # the last link: each job stored once, and dispatched once.
    assert len(seen) == 5
    assert Counter(e.id for e in seen) == Counter(processed)


async def test_batches_on_a_driver_without_one_trip_batch_pushes_emit_once_per_job() -> None:
    class RecordThenPush(MemoryDriver):
        capabilities = MemoryDriver.capabilities - {"batch_push"}

    queue = Queue("memory://unused", registry=registry, factory=RecordThenPush)
    seen = listening(queue)
    await Batch([Emitted.make(n=1), Emitted.make(n=2)]).dispatch(queue)
    assert len(seen) == 2
    await drain(queue)


async def test_nothing_wraps_the_driver_until_something_listens() -> None:
    queue = memory_queue()
    bare = await queue.driver()
    assert not isinstance(bare, HookedDriver)
    forwarded: list[Any] = []
    events = Events([forwarded.append])
    emit_dispatches(queue, events)
    emit_dispatches(queue, events)  # twice: still one event per job
    view = await queue.driver()
    assert isinstance(view, HookedDriver)
    assert view.inner is bare
    assert await queue.driver() is view
    await Emitted.dispatch(n=1, connection=queue)
    assert [type(e) for e in forwarded] == [JobDispatched]
    await queue.close()
