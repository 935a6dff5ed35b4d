"""Conformance: failed jobs imported from another backend land in the failed store as
they were, once, and are listed, pruned and retried like the store's own."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Any

import pytest
from helpers import envelope, eventually

from gello_queue.ports import FailedJob, QueueDriver, Reservation

# What the sync connection stores, it stores like any driver.
pytestmark = pytest.mark.inline_too


def record(queue: str = "billing", **fields: Any) -> FailedJob:
    env = envelope(queue, name="Mailer", max_attempts=3)
    base: dict[str, Any] = {
        "id": env.id,
        "queue": queue,
        "name": "Mailer",
        "body": env.encode().decode(),
        "exception": "RuntimeError",
        "message": "smtp down",
        "traceback": 'Traceback (most recent call last):\n  File "mail.py"\nRuntimeError',
        "failed_at": time.time() - 3600,
        "attempts": 3,
    }
    base.update(fields)
    return FailedJob(**base)


async def test_imported_records_are_stored_as_they_were(driver: QueueDriver) -> None:
    recs = [record(failed_at=1_700_000_000.25 + i) for i in range(3)]
    assert await driver.failed_import(recs) == 3
    assert await driver.failed_list(limit=10) == recs[::-1]  # newest first
    assert await driver.failed_find(recs[1].id) == recs[1]
    assert await driver.failed_count("billing") == 3
    assert (await driver.counts())["billing"].failed == 3


async def test_importing_the_same_ids_again_keeps_one_record(driver: QueueDriver) -> None:
    first, second = record(), record()
    assert await driver.failed_import([first, second]) == 2
    later = record("other")
    changed = replace(first, message="something else", queue="other")
    assert await driver.failed_import([changed, second, later]) == 1
    assert await driver.failed_count() == 3
    assert await driver.failed_find(first.id) == first
    twice = record()
    assert await driver.failed_import([twice, twice]) == 1
    assert await driver.failed_import([]) == 0
    assert await driver.failed_count() == 4


async def test_imported_records_are_pruned_by_their_own_age(driver: QueueDriver) -> None:
    old, recent = record(failed_at=time.time() - 86400), record(failed_at=time.time())
    assert await driver.failed_import([old, recent]) == 2
    assert await driver.failed_prune(time.time() - 3600) == 1
    assert [f.id for f in await driver.failed_list()] == [recent.id]


async def test_imported_records_retry_as_fresh_jobs(driver: QueueDriver) -> None:
    one, two = record("mail"), record("mail")
    await driver.failed_import([one, two])
    assert await driver.failed_retry([one.id]) == 1
    assert await driver.failed_retry_all("mail") == 1
    assert await driver.failed_count() == 0
    held: list[Reservation] = []

    async def take() -> int:
        held.extend(await driver.reserve(["mail"], 2, lease_s=30, worker_id="w"))
        return len(held)

    await eventually(take, lambda n: n >= 2, timeout_s=10)
    assert sorted(r.id for r in held) == sorted([one.id, two.id])
    assert [r.attempts for r in held] == [1, 1]
    assert await driver.ack(held) == []
