"""The inspection API for batches on real drivers: list with counts and state, one batch
with its jobs, cancel, retry of the failed ones."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from seed import BATCHES, seed_batches

from gello_queue import JobNotFoundError, JobState, Queue, Settings
from gello_queue.inspection import BatchState, Inspector, batch_state, batch_status

POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


@pytest.fixture(params=["memory", "sqlite", "redis", "postgres"])
async def inspector(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Inspector]:
    kind = request.param
    prefix = f"gtest:batches:{uuid.uuid4().hex}:"
    schema = f"gtest_{uuid.uuid4().hex}"
    url = {
        "memory": f"memory://{uuid.uuid4().hex}",
        "sqlite": f"sqlite:///{tmp_path / 'b.db'}",
        "redis": "redis://127.0.0.1:6379/0",
        "postgres": f"{POSTGRES_URL}?schema={schema}",
    }[kind]
    queue = Queue(url, settings=Settings(queue_prefix=prefix))
    if kind == "postgres":
        await queue._factory().migrate()  # type: ignore[attr-defined]
    driver = await queue.driver()
    await seed_batches(driver, time.time())
    try:
        yield Inspector(queue)
    finally:
        if kind == "redis":
            from backends.redis import delete_prefix

            await delete_prefix(driver, prefix)  # type: ignore[arg-type]
        await queue.close()
        if kind == "postgres":
            import asyncpg

            con = await asyncpg.connect(POSTGRES_URL)
            await con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            await con.close()


async def test_batches_are_listed_newest_first_with_counts_and_state(
    inspector: Inspector,
) -> None:
    found = await inspector.batches()
    assert {b.id for b in found} == set(BATCHES)
    created = [b.created_at for b in found]
    assert created == sorted(created, reverse=True)
    by_id = {b.id: b for b in found}
    running = by_id["batch-import"]
    assert (running.total, running.pending, running.processed, running.failed) == (10, 2, 6, 2)
    assert batch_state(running) is BatchState.RUNNING
    assert batch_status(running) == "running with failures"
    assert batch_state(by_id["batch-nightly"]) is BatchState.FINISHED
    assert batch_status(by_id["batch-nightly"]) == "finished"
    assert batch_state(by_id["batch-resize"]) is BatchState.CANCELLED


async def test_one_batch_names_its_failed_and_pending_jobs(inspector: Inspector) -> None:
    detail = await inspector.batch("batch-import")
    assert detail.state is BatchState.RUNNING
    failed = detail.failed_jobs
    assert sorted(j.id for j in failed) == ["batch-import-06", "batch-import-07"]
    assert {j.exception for j in failed} == {"ValueError"}
    pending = [j for j in detail.jobs if j.state is JobState.PENDING]
    assert sorted(j.id for j in pending) == ["batch-import-08", "batch-import-09"]
    assert detail.queued_complete
    assert detail.unlisted_failed == 0


async def test_an_unknown_batch_is_a_clear_error(inspector: Inspector) -> None:
    with pytest.raises(JobNotFoundError, match="no batch 'nope'"):
        await inspector.batch("nope")
    with pytest.raises(JobNotFoundError):
        await inspector.cancel_batch("nope")


async def test_cancel_counts_the_jobs_it_stops_once(inspector: Inspector) -> None:
    assert await inspector.cancel_batch("batch-import") == 2
    assert (await inspector.batch("batch-import")).state is BatchState.CANCELLED
    assert await inspector.cancel_batch("batch-import") == 0


async def test_retry_puts_the_failed_jobs_back_and_lists_them_queued(
    inspector: Inspector,
) -> None:
    await inspector.cancel_batch("batch-import")
    assert await inspector.retry_batch("batch-import") == 2
    assert await inspector.count_failed() == 0
    detail = await inspector.batch("batch-import")
    # Retrying lifts the cancel; the retried jobs are pending again, still counted failed
    # until they succeed.
    assert detail.state is BatchState.RUNNING
    assert detail.record.failed == 2
    assert detail.failed_jobs == []
    pending = sorted(j.id for j in detail.jobs if j.state is JobState.PENDING)
    assert pending == [f"batch-import-{i:02d}" for i in (6, 7, 8, 9)]
    assert detail.unlisted_failed == 0
