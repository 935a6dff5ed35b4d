"""SQLite driver specifics: rows another tool wrote into the job table."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest
from helpers import envelope

from gello_queue.drivers.sqlite import SqliteDriver
from gello_queue.ports import CompletedJob


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


async def test_history_rows_another_tool_wrote_are_skipped_and_pruned(
    driver: SqliteDriver,
) -> None:
    now = await driver.now()
    kept = CompletedJob("ok", "mail", "Mailer", 1, "w1", 0.5, 0.25, now - 10)
    await driver.ack_recording([], [kept], 100)
    db = sqlite3.connect(driver.path)
    db.executemany(
        "INSERT INTO gello_history VALUES ('mail', 'w9', 0, 2, ?, ?, ?)",
        [
            (now - 7200, now - 7200, "not json"),
            (now - 5, now - 5, '[["short"], {"a": 1}, null]'),
            (now - 3, now - 3, '{"not": "a list"}'),
        ],
    )
    db.execute(  # numbers that are not: read as 0 records, finished at 0
        "INSERT INTO gello_history VALUES ('mail', 'w9', 0, 'many', 'then', 'now', '[]')"
    )
    db.commit()
    db.close()
    assert await driver.recent() == [kept]
    assert await driver.recent(name="Mailer", tag="x") == []
    assert (await driver.history_counts())["mail"] == 7  # as the rows say, garbage or not
    pruned = await driver.history_prune(now - 3600)
    assert pruned == 2  # the row of two "records" older than the window, unread
    with closing(sqlite3.connect(driver.path)) as db:  # and the one finished "now", as text
        assert db.execute(
            "SELECT count(*) FROM gello_history WHERE typeof(finished_at) = 'text'"
        ).fetchone() == (0,)
    await driver.history_trim(1)  # reads every row of "mail"; none fails it
    assert await driver.recent() == [kept]
