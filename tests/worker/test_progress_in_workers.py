"""Progress from a plain ``def handle``: in a thread and in a child process, each value
crosses back to the worker's throttle, and the last one is stored with the job."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Progress, Queue, Worker
from gello_queue.core.errors import DriverUnavailableError
from gello_queue.drivers.memory import MemoryDriver

registry = JobRegistry()


class Item(BaseModel):
    steps: int = 5


class InThread(Job[Item], register=False):
    run_in = "thread"
    tries = 1

    def handle(self, payload: Item) -> None:  # type: ignore[override]
        for i in range(1, payload.steps + 1):
            self.progress_blocking(i / payload.steps, f"{i}/{payload.steps} in {os.getpid()}")


class InChild(Job[Item], register=False):
    tries = 1  # run_in "process": a child process, when the worker has a pool

    def handle(self, payload: Item) -> None:  # type: ignore[override]
        for i in range(1, payload.steps + 1):
            self.progress_blocking(i / payload.steps, f"{i}/{payload.steps} in {os.getpid()}")


class Reports(Job[Item], register=False):
    tries = 1

    async def handle(self, payload: Item) -> None:
        for i in range(payload.steps):
            await self.progress(i / payload.steps)


class BlockingOnTheLoop(Job[Item], register=False):
    tries = 1

    async def handle(self, payload: Item) -> None:
        self.progress_blocking(0.5)


for _cls in (InThread, InChild, Reports, BlockingOnTheLoop):
    registry.register(_cls)


async def drain(queue: Queue) -> Worker:
    worker = Worker(connection=queue, stop_when_empty=True, sleep_s=0.02)
    await asyncio.wait_for(worker.start(), 60)
    return worker


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("job", "where"), [(InThread, "thread"), (InChild, "child")])
async def test_a_plain_def_handle_reports_progress(
    tmp_path: Any, job: type[Job[Any]], where: str
) -> None:
    queue = Queue(f"memory://{tmp_path.name}", registry=registry)
    job_id = await job.dispatch(steps=200, connection=queue)
    worker = await drain(queue)
    assert (worker.status().processed, worker.status().failed) == (1, 0)
    status = await queue.status(job_id)
    assert status.state == "completed"
    assert status.progress is not None
    assert status.progress.fraction == 1.0
    assert status.progress.message is not None
    done, pid = status.progress.message.split(" in ")
    assert done == "200/200"
    # The child's values crossed its pipe to this process, which wrote them.
    assert (int(pid) == os.getpid()) is (where == "thread")


@pytest.mark.timeout(60)
async def test_progress_blocking_in_an_async_handle_fails_it_saying_what_to_use(
    tmp_path: Any,
) -> None:
    queue = Queue(f"memory://{tmp_path.name}", registry=registry)
    job_id = await BlockingOnTheLoop.dispatch(connection=queue)
    await drain(queue)
    status = await queue.status(job_id)
    assert status.state == "failed"
    assert status.failure is not None
    assert status.failure.exception == "RuntimeError"
    assert "use await self.progress(...)" in status.failure.message


def test_status_blocking_reads_the_same_as_status(tmp_path: Any) -> None:
    queue = Queue(f"memory://{tmp_path.name}", registry=registry)
    job_id = InThread.dispatch_blocking(steps=1, connection=queue)
    status = queue.status_blocking(job_id)
    assert (status.state, status.name, status.attempts) == ("pending", "InThread", 0)
    assert status.progress is None
    queue.close_blocking()


class ProgressDown(MemoryDriver):
    """A backend whose progress writes fail (its progress table is unreachable, say)."""

    async def progress_put(self, job_id: str, progress: Progress, ttl_s: float) -> None:
        raise DriverUnavailableError("redis://:secret@cache:6379 refused the connection")


@pytest.mark.timeout(60)
async def test_a_failing_progress_write_is_logged_once_and_the_job_completes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    driver = ProgressDown()
    queue = Queue("memory://progress-down", registry=registry, factory=lambda: driver)
    await Reports.dispatch(steps=3, connection=queue)
    worker = await drain(queue)
    assert (worker.status().processed, worker.status().failed) == (1, 0)
    out = capsys.readouterr().out
    assert out.count("progress_not_stored") == 1
    assert "secret" not in out
