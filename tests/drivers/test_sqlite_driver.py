"""SQLite driver specifics: rows another tool wrote into the job table."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from helpers import envelope

from gello_queue.drivers.sqlite import SqliteDriver


@pytest.fixture
async def driver(tmp_path: Path) -> AsyncIterator[SqliteDriver]:
    opened = SqliteDriver(tmp_path / "queue.db")
    await opened.open()
    yield opened
    await opened.close()


def overwrite(driver: SqliteDriver, job_id: str, assignment: str) -> None:
    """Change a row from another connection, as another tool would."""
    db = sqlite3.connect(driver.path)
    db.execute(f"UPDATE gello_jobs SET {assignment} WHERE id = ?", (job_id,))
    db.commit()
    db.close()


async def test_malformed_rows_never_stop_reserve_or_rescue(driver: SqliteDriver) -> None:
    envs = [envelope(max_attempts=5) for _ in range(4)]
    await driver.push(envs)
    odd_priority, not_utf8, odd_max, healthy = envs
    overwrite(driver, odd_priority.id, "priority = 'high'")
    overwrite(driver, not_utf8.id, "body = CAST(x'7bff' AS TEXT)")
    held = {r.id: r for r in await driver.reserve(["default"], 10, lease_s=0.0, worker_id="w")}
    assert set(held) == {e.id for e in envs}
    assert held[not_utf8.id].body == b"{\xff"  # for the worker to fail as not an envelope
    # Their worker is gone; one row's max_attempts is no number any more.
    overwrite(driver, odd_max.id, "max_attempts = 'five'")
    rescued = await driver.rescue()
    assert sorted(rescued.requeued) == sorted([odd_priority.id, not_utf8.id, healthy.id])
    assert rescued.failed == [odd_max.id]
    [failed] = await driver.failed_list()
    assert (failed.id, failed.exception) == (odd_max.id, "WorkerLost")
    again = await driver.reserve(["default"], 10, lease_s=30, worker_id="w")
    assert sorted(r.id for r in again) == sorted(rescued.requeued)
