"""The worker end to end on the memory driver: run, retry, fail, release, timeout."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import psutil
import pytest
from helpers import eventually
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Worker
from gello_queue.core.retry import Exponential

registry = JobRegistry()
runs: dict[str, int] = {}


class Item(BaseModel):
    key: str
    fail_times: int = 0


class Flaky(Job[Item], register=False):
    tries = 3
    backoff = 0

    async def handle(self, payload: Item) -> None:
        runs[payload.key] = runs.get(payload.key, 0) + 1
        if runs[payload.key] <= payload.fail_times:
            raise RuntimeError(f"boom {runs[payload.key]}")


class Hooked(Job[Item], register=False):
    tries = 2
    backoff = Exponential(base=0.01, cap=0.02)
    failures: list[str] = []

    async def handle(self, payload: Item) -> None:
        raise ValueError("always")

    async def failed(self, payload: Item, error: BaseException) -> None:
        Hooked.failures.append(f"{payload.key}:{error}")


class Blocking(Job[Item], register=False):
    run_in = "thread"

    def handle(self, payload: Item) -> None:  # type: ignore[override]
        runs[payload.key] = runs.get(payload.key, 0) + 1


class Slow(Job[Item], register=False):
    tries = 1
    timeout = 0.05

    async def handle(self, payload: Item) -> None:
        await asyncio.sleep(10)


class Polite(Job[Item], register=False):
    tries = 1

    async def handle(self, payload: Item) -> None:
        runs[payload.key] = runs.get(payload.key, 0) + 1
        if runs[payload.key] == 1:
            self.release(0, "rate limited")


class Hoard(BaseModel):
    mb: int
    ledger: str


hoarded: list[bytes] = []
"""What ``Hoarder`` keeps: memory its handler process never gives back."""


class Hoarder(Job[Hoard], register=False):
    """A blocking handler (in a child process) that leaks ``mb`` megabytes."""

    tries = 1

    def handle(self, payload: Hoard) -> None:  # type: ignore[override]
        with open(payload.ledger, "a") as out:
            out.write(f"{os.getpid()}\n")
        hoarded.append(b"x" * (payload.mb * 1024**2))  # written, so resident


for cls in (Flaky, Hooked, Blocking, Slow, Polite, Hoarder):
    registry.register(cls)


@pytest.fixture
def queue(tmp_path) -> Queue:  # type: ignore[no-untyped-def]
    return Queue(f"memory://{tmp_path.name}", registry=registry)


async def drain(queue: Queue, **kw: object) -> Worker:
    worker = Worker(connection=queue, concurrency=4, stop_when_empty=True, sleep_s=0.05, **kw)  # type: ignore[arg-type]
    await asyncio.wait_for(worker.start(), 20)
    return worker


async def test_retries_until_success(queue: Queue) -> None:
    await Flaky.dispatch(key="a", fail_times=2, connection=queue)
    worker = await drain(queue)
    assert runs["a"] == 3
    assert worker.status().processed == 1
    assert await (await queue.driver()).failed_count() == 0


async def test_exhausted_tries_go_to_failed_store_and_hook_runs_once(queue: Queue) -> None:
    job_id = await Hooked.dispatch(key="h", connection=queue)
    worker = await drain(queue)
    failed = await (await queue.driver()).failed_find(job_id)
    assert failed is not None
    assert (failed.exception, failed.message, failed.attempts) == ("ValueError", "always", 2)
    assert "Traceback" in failed.traceback
    assert Hooked.failures == ["h:always"]
    assert worker.status().failed == 1


async def test_plain_def_handle_runs_in_a_thread(queue: Queue) -> None:
    await Blocking.dispatch(key="t", connection=queue)
    await drain(queue)
    assert runs["t"] == 1


async def test_timeout_counts_as_a_failed_attempt(queue: Queue) -> None:
    job_id = await Slow.dispatch(key="s", connection=queue)
    await drain(queue)
    failed = await (await queue.driver()).failed_find(job_id)
    assert failed is not None
    assert failed.message == "timed out after 0.05 s"


async def test_release_does_not_use_an_attempt(queue: Queue) -> None:
    await Polite.dispatch(key="p", connection=queue)
    worker = await drain(queue)
    assert runs["p"] == 2
    assert worker.status().processed == 1


async def _state(worker: Worker) -> str:
    return str(worker.status().state)


async def _value(value: object) -> object:
    return value


async def test_pause_resume_and_status_from_python(queue: Queue) -> None:
    worker = Worker(connection=queue, concurrency=2, sleep_s=0.02)
    task = asyncio.create_task(worker.start())
    await eventually(lambda: _state(worker), lambda s: s == "running")
    worker.pause()
    assert worker.status().state == "paused"
    await Blocking.dispatch(key="paused", connection=queue)
    driver = await queue.driver()
    assert (await driver.counts())["default"].pending == 1
    worker.resume()
    await eventually(lambda: _value(runs.get("paused")), lambda n: n == 1)
    status = worker.status()
    assert status.processed == 1
    assert status.uptime_s > 0
    assert status.memory_bytes > 0
    worker.stop()
    assert await asyncio.wait_for(task, 10) == "stopped"
    assert worker.status().state == "stopped"


async def test_memory_limit_stops_after_current_jobs(queue: Queue) -> None:
    from gello_queue import ExitReason
    from gello_queue.worker.states import EXIT_CODES

    await Flaky.dispatch(key="m", connection=queue)
    worker = Worker(connection=queue, memory_limit="1MB", sleep_s=0.02)
    assert await asyncio.wait_for(worker.start(), 10) is ExitReason.MEMORY
    assert EXIT_CODES[ExitReason.MEMORY] == 12


async def test_a_handler_process_over_the_memory_limit_is_replaced_after_its_job(
    queue: Queue, tmp_path: Path
) -> None:
    from gello_queue import ExitReason

    # The limit sits above this process's own size (the test process runs the worker;
    # after a long suite with coverage it can pass 200 MB), and the leak above the limit.
    limit_mb = psutil.Process().memory_info().rss // 2**20 + 150
    ledger = tmp_path / "pids"
    await Hoarder.dispatch(mb=limit_mb + 100, ledger=str(ledger), connection=queue)
    await Hoarder.dispatch(mb=0, ledger=str(ledger), connection=queue)
    worker = Worker(
        connection=queue, memory_limit=f"{limit_mb}MB", stop_when_empty=True, sleep_s=0.02
    )
    assert await asyncio.wait_for(worker.start(), 60) is ExitReason.EMPTY
    leaked, clean = (int(pid) for pid in ledger.read_text().split())
    assert clean != leaked  # the second job ran in a fresh process
    assert not running(leaked)  # and the leaking one is gone


def running(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def test_max_time_stops_an_idle_worker(queue: Queue) -> None:
    from gello_queue import ExitReason

    worker = Worker(connection=queue, max_time_s=0.5, sleep_s=0.02)
    assert await asyncio.wait_for(worker.start(), 10) is ExitReason.MAX_TIME


def test_memory_sizes_parse() -> None:
    from gello_queue.worker.runtime import parse_memory

    assert parse_memory("512MB") == 512 * 1024**2
    assert parse_memory("1G") == 1024**3
    assert parse_memory(300) == 300 * 1024**2
    assert parse_memory("128") == 128 * 1024**2
    assert parse_memory(None) is None
