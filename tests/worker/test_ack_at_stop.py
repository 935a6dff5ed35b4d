"""A worker that stops while an ack is on its way lets that ack finish: the jobs it
acknowledged are announced processed and counted, never cut off with its task."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence

from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Worker
from gello_queue.drivers.memory import MemoryDriver, named_store
from gello_queue.events import Events, JobProcessed
from gello_queue.ports import Reservation


class Item(BaseModel):
    n: int


class Quick(Job[Item], register=False):
    async def handle(self, payload: Item) -> None:
        return None


class SlowReplies(MemoryDriver):
    """Acks applied at once but answered late, as a remote server's reply under load:
    a --stop-when-empty worker sees its queues empty before the reply arrives."""

    async def ack(self, reservations: Sequence[Reservation]) -> list[str]:
        refused = await super().ack(reservations)
        await asyncio.sleep(0.2)
        return refused


async def test_an_ack_under_way_at_stop_is_announced() -> None:
    registry = JobRegistry()
    registry.register(Quick)
    store = named_store(f"acks-{uuid.uuid4().hex}")
    queue = Queue("memory://x", registry=registry, factory=lambda: SlowReplies(store))
    await queue.bulk([Quick.make(n=i) for i in range(20)])
    seen: list[str] = []
    events = Events([lambda e: seen.append(e.id) if isinstance(e, JobProcessed) else None])
    worker = Worker(
        connection=queue, concurrency=4, sleep_s=0.01, events=events, stop_when_empty=True
    )
    await worker.start()
    assert len(seen) == 20
    assert worker.counters.processed == 20
    await queue.close()
