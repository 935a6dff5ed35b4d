"""Every driver meets a held unique key as core decides (``core.unique.unique_outcome``):
the Lua and SQL copies of the rule, and the brokers' claims, are held to it.

Each case dispatches a job in one mode against a holder in the same mode (the key
names the job, whose class gives the mode), started or not, its lock expired or not,
and reads what the driver did: which id the dispatch returned, whether the holder is
still there, and which job holds the key afterwards.
"""

from __future__ import annotations

import itertools

import pytest
from helpers import envelope, eventually

from gello_queue.core.unique import UniqueOutcome, unique_outcome
from gello_queue.ports import QueueDriver

W = "w"
LOCK_S = 0.3
"""The life of an expiring holder's lock."""
CASES = list(
    itertools.product(("processed", "processing", "debounce"), (False, True), (False, True))
)


@pytest.mark.parametrize(("mode", "started", "expired"), CASES)
async def test_a_dispatch_meets_a_held_key_as_core_decides(
    driver: QueueDriver, mode: str, started: bool, expired: bool
) -> None:
    holder = envelope(unique_key="k", unique_mode=mode, unique_for=LOCK_S if expired else None)
    assert await driver.push([holder]) == [holder.id]
    held = None
    if started:
        [held] = await eventually(
            lambda: driver.reserve(["default"], 1, lease_s=30, worker_id=W), bool
        )
        assert held.id == holder.id
    if expired:
        # The lock's life started by the time the push returned: wait out its end by
        # the backend's clock.
        ends = await driver.now() + LOCK_S
        await eventually(driver.now, lambda t: t > ends, timeout_s=5)

    expected = unique_outcome(mode, holder_started=started, holder_expired=expired)
    new = envelope(unique_key="k", unique_mode=mode)
    ids = await driver.push([new])

    winner = holder if expected is UniqueOutcome.FOLD else new
    assert ids == [winner.id], f"expected {expected}"
    # The winner holds the key: a plain dispatch folds into it.
    assert await driver.push([envelope(unique_key="k")]) == [winner.id]
    if held is not None:
        # A started holder keeps its lease unless it was superseded.
        alive = await driver.ack([held]) == []
    else:
        alive = await driver.find(holder.id) is not None
    assert alive == (expected is not UniqueOutcome.SUPERSEDE), f"expected {expected}"
    if winner is new:
        # The holder ending, or still waiting, leaves the new job's key alone.
        assert await driver.push([envelope(unique_key="k")]) == [new.id]


def test_the_decision() -> None:
    fold, supersede, take = UniqueOutcome.FOLD, UniqueOutcome.SUPERSEDE, UniqueOutcome.TAKE
    table = {
        # (mode, started): outcome while the lock lives
        ("processed", False): fold,
        ("processed", True): fold,
        (None, True): fold,
        ("processing", False): fold,
        ("processing", True): take,
        ("debounce", False): supersede,
        ("debounce", True): take,
    }
    for (mode, started), outcome in table.items():
        assert unique_outcome(mode, holder_started=started, holder_expired=False) is outcome
        # An expired lock holds nothing, whatever the mode.
        assert unique_outcome(mode, holder_started=started, holder_expired=True) is take
