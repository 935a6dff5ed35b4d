"""Conformance: a body that is not a gello envelope (another producer's, or damaged)
reaches the worker as it was stored, fails alone, and a retry brings it back unchanged:
never dropped, never rewritten, never in the way of the jobs around it."""

from __future__ import annotations

import pytest
from helpers import envelope, eventually

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import EnvelopeError
from gello_queue.ports import Failure, QueueDriver, Reservation

POISON = '{"v": 1, "payload": '


class Garbled(Envelope):
    """Pushed like any job, stored with a body cut short."""

    def encode(self) -> bytes:
        return POISON.encode()


def text(res: Reservation) -> str:
    return res.body if isinstance(res.body, str) else res.body.decode()


async def reserve_all(driver: QueueDriver, count: int) -> list[Reservation]:
    held: list[Reservation] = []

    async def more() -> int:
        held.extend(await driver.reserve(["default"], 5, lease_s=30, worker_id="w"))
        return len(held)

    await eventually(more, lambda n: n >= count)
    return held


async def test_a_body_that_is_not_an_envelope_reaches_the_worker_raw(driver: QueueDriver) -> None:
    before, after = envelope(), envelope()
    poison = Garbled(**envelope().to_dict())
    await driver.push([before, poison, after])
    held = {r.id: r for r in await reserve_all(driver, 3)}
    res = held.pop(poison.id)
    assert (text(res), res.attempts) == (POISON, 1)
    with pytest.raises(EnvelopeError):
        Envelope.decode(res.body)
    assert await driver.fail(res, text(res), Failure("EnvelopeError", "not JSON")) is True
    assert await driver.ack(list(held.values())) == []  # the jobs around it are unharmed
    failed = await driver.failed_find(poison.id)
    assert failed is not None
    assert (failed.name, failed.body, failed.payload()) == ("?", POISON, None)
    # Retried, it comes back as it was: it fails again with the same reason.
    assert await driver.failed_retry([poison.id]) == 1
    [again] = await reserve_all(driver, 1)
    assert (again.id, text(again)) == (poison.id, POISON)
