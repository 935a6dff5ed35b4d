"""A full Redis pool makes callers wait for a free connection; when the wait runs out,
the error is gello's, says the pool was exhausted and how to raise it."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from backends.redis import REDIS_URL, delete_prefix
from helpers import envelope, eventually
from redis.asyncio import Redis

from gello_queue import Queue
from gello_queue.core.errors import DriverUnavailableError
from gello_queue.drivers.redis import RedisDriver
from gello_queue.settings import Settings


async def test_a_full_pool_waits_then_says_how_to_raise_it() -> None:
    prefix = f"gtest:{uuid.uuid4().hex}:"
    name = f"pooltest-{uuid.uuid4().hex[:8]}"
    driver = RedisDriver(REDIS_URL, prefix=prefix, pool_max=2, pool_timeout_s=0.5, client_name=name)
    watcher = Redis.from_url(REDIS_URL, decode_responses=True)
    await driver.open()
    try:
        # Sixty concurrent pushes through two connections: each waits its turn.
        ids = await asyncio.gather(*(driver.push([envelope()]) for _ in range(60)))
        assert len({i[0] for i in ids}) == 60
        # The driver keeps one of its connections for pushes; a blocking pop holds the
        # other, so the next call waits for one, then fails.
        held = asyncio.create_task(driver.redis.blpop([f"{prefix}nothing"], timeout=3))

        async def popping() -> int:
            clients = await watcher.client_list()
            return sum(1 for c in clients if c["name"] == name and c["cmd"] == "blpop")

        await eventually(popping, lambda n: n == 1)
        started = time.monotonic()
        with pytest.raises(DriverUnavailableError) as exhausted:
            await driver.counts()
        assert time.monotonic() - started >= 0.4
        said = str(exhausted.value)
        assert "pool is exhausted" in said
        assert "QUEUE_POOL_MAX" in said
        await held
        assert await driver.counts() is not None  # free again once the pops return
    finally:
        await delete_prefix(driver, prefix)
        await driver.close()
        await watcher.aclose()


def test_pool_sizes_come_from_settings() -> None:
    settings = Settings(QUEUE_POOL_MAX=3, QUEUE_POOL_TIMEOUT=1.5)  # type: ignore[call-arg]
    queue = Queue(REDIS_URL, settings=settings)
    driver = queue._factory()
    assert isinstance(driver, RedisDriver)
    assert (driver.pool_max, driver.pool_timeout_s) == (3, 1.5)
