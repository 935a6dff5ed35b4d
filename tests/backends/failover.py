"""The failover connection: Redis first, SQLite second, as the docs suggest."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from backends import redis, sqlite
from gello_queue.drivers.failover import FailoverDriver


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
