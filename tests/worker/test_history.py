"""The completed-job history as the worker writes it, on the connections the contract
suite does not run a worker on (the sync connection runs each job at dispatch)."""

from __future__ import annotations

import json

from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Settings
from gello_queue.inspection import Inspector

registry = JobRegistry()


class Item(BaseModel):
    key: str


class Noted(Job[Item], register=False):
    async def handle(self, payload: Item) -> None:
        return None


registry.register(Noted)


async def test_the_sync_connection_keeps_history_by_the_setting() -> None:
    settings = Settings(QUEUE_KEEP_COMPLETED=5, QUEUE_KEEP_COMPLETED_PAYLOADS=True)  # type: ignore[call-arg]
    queue = Queue("sync://", settings=settings, registry=registry)
    ids = [await Noted.dispatch(key=str(i), connection=queue) for i in range(7)]  # run at once
    kept = await Inspector(queue).recent()
    assert [c.id for c in kept] == ids[::-1][:5]  # the newest five
    assert {(c.name, c.queue, c.attempts, c.worker) for c in kept} == {
        ("Noted", "default", 1, "sync")
    }
    assert json.loads(kept[0].payload or "null") == {"key": "6"}


async def test_the_sync_connection_keeps_none_with_history_off() -> None:
    settings = Settings(QUEUE_KEEP_COMPLETED=0)  # type: ignore[call-arg]
    queue = Queue("sync://", settings=settings, registry=registry)
    await Noted.dispatch(key="a", connection=queue)
    assert await Inspector(queue).recent() == []
