"""The failover connection: Redis first, SQLite second, as the docs suggest."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from backends import redis, sqlite
from gello_queue.drivers.failover import FailoverDriver
from gello_queue.drivers.redis import RedisDriver
from gello_queue.drivers.sqlite import SqliteDriver


@asynccontextmanager
async def open_driver(request: Any) -> AsyncIterator[FailoverDriver]:
    """Both connections up: dispatch goes to Redis, workers serve both. The failover
    opens and closes its connections itself."""
    prefix = redis.unique_prefix()
    first = RedisDriver(redis.REDIS_URL, prefix=prefix)
    second = SqliteDriver(request.getfixturevalue("tmp_path") / "failover.db")
    driver = FailoverDriver([first, second])
    await driver.open()
    try:
        yield driver
    finally:
        await redis.delete_prefix(first, prefix)
        await driver.close()


def peer(driver: FailoverDriver) -> FailoverDriver:
    """Another failover over peers of the same two connections."""
    first, second = (child.driver for child in driver.children)
    assert isinstance(first, RedisDriver)
    assert isinstance(second, SqliteDriver)
    return FailoverDriver([redis.peer(first), sqlite.peer(second)])


def unreachable(request: Any) -> FailoverDriver:
    """An unopened failover none of whose connections answers."""
    return FailoverDriver([redis.unreachable(request), sqlite.unreachable(request)])


@asynccontextmanager
async def dying(request: Any) -> AsyncIterator[tuple[FailoverDriver, Callable[[], None]]]:
    """An open failover over a Redis server of its own and a SQLite file, and a function
    that stops the one and locks the other."""
    async with (
        redis.dying(request) as (first, stop_redis),
        sqlite.dying(request) as (
            second,
            lock_sqlite,
        ),
    ):
        driver = FailoverDriver([first, second], retry_after_s=0.0)
        await driver.open()

        def stop() -> None:
            stop_redis()
            lock_sqlite()

        yield driver, stop
