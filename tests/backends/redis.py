"""Redis for the conformance suite: each test gets its own key prefix on a shared server.

An unreachable server fails the test (``open`` raises): Redis is part of the suite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from backends.servers import SECRET, Stopper, free_port, own_redis
from gello_queue.drivers.redis import RedisDriver

# The same default as tests/conftest.py, which cannot be imported by name from here
# (every directory's conftest is called "conftest").
REDIS_URL = os.environ.get("GELLO_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


async def delete_prefix(driver: RedisDriver, prefix: str) -> None:
    """Delete every key under ``prefix`` (and only those)."""
    client = driver.redis
    batch: list[str] = []
    async for key in client.scan_iter(match=f"{prefix}*", count=1000):
        batch.append(key)
        if len(batch) >= 500:
            await client.unlink(*batch)
            batch.clear()
    if batch:
        await client.unlink(*batch)


def unique_prefix() -> str:
    """A key prefix no other test uses."""
    return f"gtest:{uuid.uuid4().hex}:"


@asynccontextmanager
async def open_driver(request: Any, url: str = REDIS_URL) -> AsyncIterator[RedisDriver]:
    prefix = unique_prefix()
    driver = RedisDriver(url, prefix=prefix)
    await driver.open()
    try:
        yield driver
    finally:
        await delete_prefix(driver, prefix)
        await driver.close()


def peer(driver: RedisDriver) -> RedisDriver:
    """Another driver (its own connections) on the same server and prefix, as another
    process would be; a cluster's too."""
    return RedisDriver(driver.url, prefix=driver.prefix)


def unreachable(request: Any) -> RedisDriver:
    """An unopened driver for a loopback port nothing listens on."""
    return RedisDriver(f"redis://:{SECRET}@127.0.0.1:{free_port()}/0", connect_timeout_s=1.0)


def unreachable_cluster(request: Any) -> RedisDriver:
    """An unopened Redis Cluster driver whose only seed node does not answer."""
    return RedisDriver(f"redis+cluster://:{SECRET}@127.0.0.1:{free_port()}", connect_timeout_s=1.0)


@asynccontextmanager
async def dying(request: Any) -> AsyncIterator[tuple[RedisDriver, Stopper]]:
    """An open driver on a Redis server of its own, and the function that stops it."""
    data = request.getfixturevalue("tmp_path") / "redis"
    data.mkdir()
    with own_redis(data) as (url, stop):
        driver = RedisDriver(url, connect_timeout_s=1.0, socket_timeout_s=2.0)
        await driver.open()
        try:
            yield driver, stop
        finally:
            await driver.close()
