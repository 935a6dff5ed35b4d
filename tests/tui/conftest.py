"""Dashboard fixtures: an app over a seeded backend (SQLite file or Redis prefix), and a
fixed-clock memory store for snapshot tests."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from seed import T0, seed, seed_batches
from tui_support import Env

from gello_cli.tui.app import MonitorApp
from gello_cli.tui.backend import Backend
from gello_queue import Queue, Settings
from gello_queue.drivers.memory import MemoryDriver, MemoryStore

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture(params=["sqlite", "redis"])
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Env]:
    if request.param == "sqlite":
        queue = Queue(f"sqlite:///{tmp_path / 'tui.db'}")
    else:
        prefix = f"gtest:tui:{uuid.uuid4().hex}:"
        queue = Queue(REDIS_URL, settings=Settings(queue_prefix=prefix))
    driver = await queue.driver()
    await seed(driver, time.time())
    try:
        yield Env(queue, driver)
    finally:
        if request.param == "redis":
            from backends.redis import delete_prefix

            await delete_prefix(driver, queue.settings.queue_prefix)  # type: ignore[arg-type]
        await queue.close()


@pytest.fixture
async def app(env: Env) -> AsyncIterator[MonitorApp]:
    backend = env.backend()
    yield MonitorApp(backend, url=env.queue.url, interval=0.5, live=False)
    await asyncio.to_thread(backend.close)


# -- snapshot tests ----------------------------------------------------------------------
@pytest.fixture
def fixed_app() -> Iterator[Callable[..., MonitorApp]]:
    """Build apps over a seeded memory store whose clock stands still at ``T0`` (with
    ``batches=True``, the seeded batches too)."""
    backends: list[Backend] = []

    def make(
        prepare: Callable[[MemoryDriver], Awaitable[None]] | None = None,
        *,
        batches: bool = False,
        **options: Any,
    ) -> MonitorApp:
        store = MemoryStore(clock=lambda: T0)
        asyncio.run(seed(MemoryDriver(store), T0))
        if batches:
            asyncio.run(seed_batches(MemoryDriver(store), T0))
        if prepare is not None:  # what one test adds to the seeded store
            asyncio.run(prepare(MemoryDriver(store)))
        backend = Backend(Queue("memory://snap", factory=lambda: MemoryDriver(store)))
        backends.append(backend)
        options.setdefault("live", False)
        return MonitorApp(
            backend, url="redis://:hunter2@cache.internal:6379/0", clock=lambda: T0, **options
        )

    yield make
    for backend in backends:
        backend.close()


@pytest.fixture
async def mem_app() -> AsyncIterator[MonitorApp]:
    """An app over a seeded memory store at a fixed time (fast: no I/O at all)."""
    store = MemoryStore(clock=lambda: T0)
    await seed(MemoryDriver(store), T0)
    backend = Backend(Queue("memory://nav", factory=lambda: MemoryDriver(store)))
    yield MonitorApp(backend, url="memory://nav", clock=lambda: T0, live=False, interval=2)
    await asyncio.to_thread(backend.close)
