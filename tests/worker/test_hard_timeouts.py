"""Blocking handlers run in child processes, so their timeouts are enforced for real."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

import pytest
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Worker

registry = JobRegistry()


class Spin(BaseModel):
    key: str
    mode: str = "ok"
    ledger: str = ""


class Blocking(Job[Spin], register=False):
    """Each mode is a way a blocking handler can end."""

    tries = 1
    timeout = 0.5

    def handle(self, payload: Spin) -> None:  # type: ignore[override]
        if payload.mode == "spin":
            while True:  # no await: only killing the process stops this
                pass
        if payload.mode == "exit":
            os._exit(3)
        if payload.mode == "raise":
            raise LookupError(f"no row {payload.key}")
        if (
            payload.mode == "release"
            and self.attempt == 1
            and not Path(payload.ledger + ".r").exists()
        ):
            Path(payload.ledger + ".r").touch()
            self.release(0, "later")
        with open(payload.ledger, "a") as out:
            out.write(f"{payload.key} {os.getpid()}\n")


class Sleeper(Job[Spin], register=False):
    tries = 1
    timeout = 0.2

    async def handle(self, payload: Spin) -> None:
        await asyncio.sleep(30)


registry.register(Blocking)
registry.register(Sleeper)


@pytest.fixture
def queue(tmp_path: Path) -> Queue:
    return Queue(f"sqlite:///{tmp_path / 'q.db'}", registry=registry)


async def drain(queue: Queue) -> Worker:
    worker = Worker(connection=queue, concurrency=2, stop_when_empty=True, sleep_s=0.02)
    await asyncio.wait_for(worker.start(), 60)
    return worker


async def test_a_spinning_blocking_job_is_killed_at_its_timeout(
    queue: Queue, tmp_path: Path
) -> None:
    ledger = str(tmp_path / "ledger")
    spin = await Blocking.dispatch(key="spin", mode="spin", connection=queue)
    await Blocking.dispatch(key="ok", ledger=ledger, connection=queue)
    started = time.monotonic()
    await drain(queue)
    assert time.monotonic() - started < 20
    failed = await (await queue.driver()).failed_find(spin)
    assert failed is not None
    assert (failed.exception, failed.message) == ("TimeoutError", "timed out after 0.5 s")
    lines = Path(ledger).read_text().split()
    assert lines[0] == "ok"
    assert int(lines[1]) != os.getpid()  # it ran in a child process


async def test_blocking_errors_crashes_and_releases_come_back(queue: Queue, tmp_path: Path) -> None:
    ledger = str(tmp_path / "ledger")
    raised = await Blocking.dispatch(key="7", mode="raise", connection=queue)
    crashed = await Blocking.dispatch(key="x", mode="exit", connection=queue)
    await Blocking.dispatch(key="r", mode="release", ledger=ledger, connection=queue)
    worker = await drain(queue)
    driver = await queue.driver()
    error = await driver.failed_find(raised)
    assert error is not None
    assert (error.exception, error.message) == ("LookupError", "no row 7")
    assert "raise LookupError" in error.traceback
    crash = await driver.failed_find(crashed)
    assert crash is not None
    assert crash.exception == "HandlerCrashed"
    assert "exit code 3" in crash.message
    assert Path(ledger).read_text().split()[0] == "r"  # released once, then ran (tries = 1)
    assert worker.status().failed == 2


async def test_async_jobs_keep_in_loop_cancellation(queue: Queue) -> None:
    job_id = await Sleeper.dispatch(key="s", connection=queue)
    await drain(queue)
    failed = await (await queue.driver()).failed_find(job_id)
    assert failed is not None
    assert failed.message == "timed out after 0.2 s"
