"""Conformance: the payload cap (QUEUE_MAX_PAYLOAD_BYTES) bounds every stored body, on
every driver: a single job, and the bodies batches and chains compose (a chain's first
link carries the rest; a batch record carries its callbacks and the chain after it)."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from gello_queue import (
    Batch,
    Chain,
    Job,
    JobRegistry,
    PayloadTooLargeError,
    PendingDispatch,
    Queue,
    Settings,
)
from gello_queue.ports import QueueDriver

CAP = 8192
REFUSED = rf"over the {CAP}-byte cap \(QUEUE_MAX_PAYLOAD_BYTES\): store the data elsewhere"

registry = JobRegistry()


class Blob(BaseModel):
    data: str = ""


class Store(Job[Blob], register=False):
    async def handle(self, payload: Blob) -> None: ...


registry.register(Store)


def _queue(driver: QueueDriver) -> Queue:
    return Queue(
        f"memory://unused-{id(driver)}",
        settings=Settings(QUEUE_MAX_PAYLOAD_BYTES=CAP),  # type: ignore[call-arg]
        registry=registry,
        factory=lambda: driver,
    )


def _links(count: int, size: int = 2000) -> list[PendingDispatch]:
    """``count`` jobs each well under the cap alone."""
    return [Store.make(data=str(i) * size) for i in range(count)]


async def test_every_body_over_the_cap_is_refused_with_one_error(driver: QueueDriver) -> None:
    queue = _queue(driver)
    with pytest.raises(PayloadTooLargeError, match=REFUSED):
        await Store.dispatch(data="x" * CAP, connection=queue)
    with pytest.raises(PayloadTooLargeError, match=REFUSED):
        await queue.bulk([Store.make(data="small"), Store.make(data="x" * CAP)])
    # Ten links of 2 KB: each within the cap, the first link's body (carrying the nine
    # after it) is not.
    with pytest.raises(PayloadTooLargeError, match=rf"9 chain steps after it .*{REFUSED}"):
        await Chain(_links(10)).dispatch(queue)
    with pytest.raises(PayloadTooLargeError, match=REFUSED):  # a catch rides in the link too
        await Chain(_links(1, 5000), catch=Store.make(data="c" * 5000)).dispatch(queue)
    with pytest.raises(PayloadTooLargeError, match=REFUSED):  # a chain inside a batch
        await Batch([Chain(_links(10))]).dispatch(queue)
    head = Batch(_links(1, 10))
    with pytest.raises(PayloadTooLargeError, match=REFUSED):  # the chain in a batch record
        await Chain([head, *_links(10)]).dispatch(queue)
    callbacks = Batch(_links(1, 10), then=_links(10))
    with pytest.raises(PayloadTooLargeError, match=REFUSED):  # callbacks in a batch record
        await callbacks.dispatch(queue)
    counts = await driver.counts()
    assert sum(c.total for c in counts.values()) == 0  # nothing was stored
    assert await driver.batch_find(callbacks.id) is None
    assert await driver.batch_find(head.id) is None


async def test_bodies_within_the_cap_are_stored(driver: QueueDriver) -> None:
    queue = _queue(driver)
    await Chain(_links(3)).dispatch(queue)
    batch = Batch(_links(3), then=_links(1))
    await batch.dispatch(queue)
    assert await driver.batch_find(batch.id) is not None
    counts = await driver.counts()
    assert sum(c.total for c in counts.values()) == 4  # the chain's first link, the batch
