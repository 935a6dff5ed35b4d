"""The Queue facade: seed operations, blocking twins, default connection, sync driver."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest
from pydantic import BaseModel

from gello_queue import (
    ConfigurationError,
    GelloError,
    Job,
    JobRegistry,
    Queue,
    Settings,
    default_queue,
    load_settings,
    set_default_queue,
)
from gello_queue.worker.inline import SyncJobFailed

registry = JobRegistry()
ran: list[int] = []


class N(BaseModel):
    n: int


class Record(Job[N], register=False):
    async def handle(self, payload: N) -> None:
        ran.append(payload.n)


class Explode(Job[N], register=False):
    async def handle(self, payload: N) -> None:
        raise RuntimeError(f"exploded {payload.n}")


registry.register(Record)
registry.register(Explode)


async def test_push_push_on_later_bulk_size_clear(tmp_path: Path) -> None:
    queue = Queue(f"sqlite:///{tmp_path / 'q.db'}", registry=registry)
    first = await queue.push(Record, n=1)
    await queue.push_on("other", Record, {"n": 2})
    await queue.later(60, Record, n=3)
    ids = await queue.bulk([Record.make(n=i) for i in range(5)])
    assert len(set(ids)) == 5
    assert all(i > first for i in ids)  # time-ordered ids
    assert await queue.size() == 7
    assert await queue.size("other") == 1
    assert await queue.clear() == 7
    assert await queue.size() == 0
    assert await queue.bulk([]) == []
    await queue.close()


def test_blocking_twins_work_without_an_event_loop(tmp_path: Path) -> None:
    queue = Queue(f"sqlite:///{tmp_path / 'q.db'}", registry=registry)
    job_id = Record.dispatch_blocking(n=1, connection=queue)
    later_id = Record.dispatch_after_blocking(30, {"n": 2}, connection=queue)
    assert job_id != later_id
    queue.push_blocking(Record, n=3)
    queue.push_on_blocking("x", Record, n=4)
    queue.later_blocking(5, Record, n=5)
    queue.bulk_blocking([Record.make(n=6)])
    results: list[int] = []
    thread = threading.Thread(target=lambda: results.append(queue.size_blocking()))
    thread.start()
    thread.join()
    assert results == [5]
    assert queue.clear_blocking("x") == 1
    queue.close_blocking()


async def test_blocking_twin_inside_a_loop_says_to_await(tmp_path: Path) -> None:
    queue = Queue(f"sqlite:///{tmp_path / 'q.db'}", registry=registry)
    with pytest.raises(GelloError, match="await the async method"):
        queue.size_blocking()


async def test_default_queue_follows_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'default.db'}")
    set_default_queue(None)
    try:
        job_id = await Record.dispatch(n=9)
        assert (await (await default_queue().driver()).find(job_id)) is not None
        assert "default.db" in repr(default_queue())
        await default_queue().close()
    finally:
        set_default_queue(None)


async def test_sync_driver_runs_jobs_inline_and_raises_failures() -> None:
    queue = Queue("sync://", registry=registry)
    ran.clear()
    await Record.dispatch(n=5, connection=queue, delay=3600)
    assert ran == [5]
    with pytest.raises(SyncJobFailed, match="exploded 1"):
        await Explode.dispatch(n=1, connection=queue)
    assert await (await queue.driver()).failed_count() == 1


def test_settings_names_and_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUEUE_DRIVER", "redis")
    monkeypatch.setenv("REDIS_HOST", "cache")
    monkeypatch.setenv("REDIS_PASSWORD", "s3cr/t")
    monkeypatch.setenv("REDIS_DB", "2")
    assert load_settings().connection_url() == "redis://:s3cr%2Ft@cache:6379/2"
    monkeypatch.setenv("REDIS_URL", "rediss://u:p@h:1/0")
    assert load_settings().connection_url() == "rediss://u:p@h:1/0"
    monkeypatch.setenv("QUEUE_URL", "memory://")
    assert load_settings().connection_url() == "memory://"
    monkeypatch.setenv("QUEUE_MAX_TRIES", "zero")
    with pytest.raises(ConfigurationError, match="QUEUE_MAX_TRIES"):
        load_settings()
    assert Settings.model_fields["queue_lease"].default == 30.0


def test_unknown_scheme_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigurationError, match="use one of memory://"):
        Queue("kafka://broker")


def test_importing_the_library_loads_no_client_or_ui() -> None:
    code = (
        "import sys, gello_queue; "
        "bad = [m for m in ('redis', 'asyncpg', 'typer', 'textual') if m in sys.modules]; "
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_public_api_is_pinned() -> None:
    import gello_queue

    for name in gello_queue.__all__:
        assert hasattr(gello_queue, name), name
    assert {"Job", "Queue", "Worker", "Exponential", "JobState"} <= set(gello_queue.__all__)


async def test_push_push_on_and_later_take_a_made_job(tmp_path: Path) -> None:
    queue = Queue(f"sqlite:///{tmp_path / 'q.db'}", registry=registry)
    await queue.push(Record.make(n=1))
    await queue.push_on("other", Record.make(n=2))
    await queue.later(60, Record.make(n=3))
    assert await queue.size() == 2
    assert await queue.size("other") == 1


def test_push_blocking_takes_a_made_job(tmp_path: Path) -> None:
    queue = Queue(f"sqlite:///{tmp_path / 'q.db'}", registry=registry)
    try:
        queue.push_blocking(Record.make(n=1))
        assert queue.size_blocking() == 1
    finally:
        queue.close_blocking()


async def test_push_refuses_a_made_job_given_a_payload_again_or_a_non_job(
    tmp_path: Path,
) -> None:
    queue = Queue(f"sqlite:///{tmp_path / 'q.db'}", registry=registry)
    with pytest.raises(TypeError, match="already made with its payload"):
        await queue.push(Record.make(n=1), n=2)
    with pytest.raises(TypeError, match="expected a Job class"):
        await queue.push("Record", n=1)  # type: ignore[arg-type]
    assert await queue.size() == 0
