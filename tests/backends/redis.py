"""Redis for the conformance suite: each test gets its own key prefix on a shared server.

An unreachable server fails the test (``open`` raises): Redis is part of the suite.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

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


@asynccontextmanager
async def open_driver(request: Any, url: str = REDIS_URL) -> AsyncIterator[RedisDriver]:
    prefix = f"gtest:{uuid.uuid4().hex}:"
    driver = RedisDriver(url, prefix=prefix)
    await driver.open()
    try:
        yield driver
    finally:
        await delete_prefix(driver, prefix)
        await driver.close()
