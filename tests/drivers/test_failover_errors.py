"""The failover connection skips a connection only for an outage (``DriverUnavailableError``);
any other error is a bug or a refusal and reaches the caller."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from helpers import envelope

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import DriverUnavailableError
from gello_queue.drivers.failover import FailoverDriver
from gello_queue.drivers.memory import MemoryDriver


class Raising(MemoryDriver):
    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    async def push(self, envelopes: Sequence[Envelope]) -> list[str]:
        raise self.error


async def test_an_outage_fails_over_and_a_bug_goes_up() -> None:
    second = MemoryDriver()
    down = FailoverDriver([Raising(DriverUnavailableError("cannot reach X")), second])
    await down.open()
    env = envelope()
    assert await down.push([env]) == [env.id]
    assert await second.find(env.id) is not None

    buggy = FailoverDriver([Raising(ValueError("a bug")), MemoryDriver()])
    await buggy.open()
    with pytest.raises(ValueError, match="a bug"):
        await buggy.push([envelope()])


def test_a_failover_needs_two_connections() -> None:
    with pytest.raises(ValueError, match="at least two"):
        FailoverDriver([])
