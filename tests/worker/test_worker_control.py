"""Commands to one running worker through the backend (what the dashboard's Workers
screen sends): pause and resume, quiet (finish running jobs, then exit) and stop, on
every driver. The worker's heartbeat shows the new state at once."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable

import pytest
from backends import BACKENDS
from helpers import eventually
from pydantic import BaseModel

from gello_queue import Job, JobRegistry, Queue, Settings, Worker, WorkerNotFoundError
from gello_queue.core.errors import ConfigurationError
from gello_queue.inspection import Inspector
from gello_queue.worker.states import ExitReason

registry = JobRegistry()
done: list[str] = []


class Chore(BaseModel):
    key: str
    seconds: float = 0.0


class DoChore(Job[Chore], register=False):
    async def handle(self, payload: Chore) -> None:
        await asyncio.sleep(payload.seconds)
        done.append(payload.key)


registry.register(DoChore)


@pytest.fixture(params=list(BACKENDS))
async def queue(request: pytest.FixtureRequest) -> AsyncIterator[Queue]:
    done.clear()
    async with BACKENDS[request.param](request) as driver:
        yield Queue(
            f"memory://unused-{id(driver)}",
            settings=Settings(),  # type: ignore[call-arg]
            registry=registry,
            factory=lambda: driver,
        )


async def until(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


async def state_of(inspector: Inspector, name: str) -> str:
    """The worker's state as its heartbeat tells (``absent`` before its first one)."""
    try:
        record, _ = await inspector.worker(name)
    except WorkerNotFoundError:
        return "absent"
    return record.state


@pytest.mark.timeout(90)
async def test_pause_resume_and_quiet_reach_a_running_worker(queue: Queue) -> None:
    worker = Worker(["default"], connection=queue, name="ctl-1", sleep_s=0.05)
    running = asyncio.create_task(worker.start())
    ops = Inspector(queue)
    try:
        await eventually(lambda: state_of(ops, "ctl-1"), lambda s: s == "running")
        await ops.command_worker("ctl-1", "pause")
        await eventually(lambda: state_of(ops, "ctl-1"), lambda s: s == "paused")
        await DoChore.dispatch(key="while-paused", connection=queue)
        await asyncio.sleep(1.5)  # a paused worker takes nothing in this window
        assert done == []
        await ops.command_worker("ctl-1", "resume")
        await until(lambda: done == ["while-paused"])

        # Quiet: the running job finishes (no grace cuts it short), then the worker exits.
        worker.grace_s = 0.1
        await DoChore.dispatch(key="long", seconds=1.5, connection=queue)
        await eventually(lambda: ops.worker("ctl-1"), lambda w: len(w[1]) == 1)
        _, [job] = await ops.worker("ctl-1")
        assert job.name == "DoChore"
        await ops.command_worker("ctl-1", "quiet")
        assert await asyncio.wait_for(running, 20) is ExitReason.QUIET
        assert done == ["while-paused", "long"]
        assert await queue.size() == 0
    finally:
        worker.stop()
        await asyncio.wait_for(running, 20)


@pytest.mark.timeout(60)
async def test_stop_ends_the_worker_and_nonsense_is_ignored(queue: Queue) -> None:
    worker = Worker(["default"], connection=queue, name="ctl-2", sleep_s=0.05)
    running = asyncio.create_task(worker.start())
    ops = Inspector(queue)
    try:
        await eventually(lambda: state_of(ops, "ctl-2"), lambda s: s == "running")
        record, _ = await ops.worker("ctl-2")
        # A command no worker knows (a hostile or newer writer) is logged and ignored.
        await (await queue.driver()).worker_command(record.id, "explode")
        await DoChore.dispatch(key="after-nonsense", connection=queue)
        await until(lambda: done == ["after-nonsense"])
        assert not running.done()
        await ops.command_worker(f"{record.host}:{record.pid}", "stop")
        assert await asyncio.wait_for(running, 20) is ExitReason.STOPPED
    finally:
        worker.stop()
        await asyncio.wait_for(running, 20)


async def test_a_command_names_one_live_worker_and_a_known_command() -> None:
    queue = Queue("memory://worker-control-errors", registry=registry)
    ops = Inspector(queue)
    with pytest.raises(WorkerNotFoundError, match="no live worker goes by 'nobody'"):
        await ops.command_worker("nobody", "pause")
    with pytest.raises(ConfigurationError, match="unknown worker command 'nap'; use pause"):
        await ops.command_worker("nobody", "nap")
    await queue.close()
