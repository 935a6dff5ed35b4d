from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from gello_queue.drivers.sqlite import SqliteDriver


@asynccontextmanager
async def open_driver(request: Any) -> AsyncIterator[SqliteDriver]:
    tmp = request.getfixturevalue("tmp_path")
    driver = SqliteDriver(tmp / "contract.db")
    await driver.open()
    yield driver
    await driver.close()


def peer(driver: SqliteDriver) -> SqliteDriver:
    """Another driver on the same file, as another process would be."""
    return SqliteDriver(driver.path)


def unreachable(request: Any) -> SqliteDriver:
    """An unopened driver whose path is a directory: SQLite cannot open it."""
    return SqliteDriver(request.getfixturevalue("tmp_path"))


@asynccontextmanager
async def dying(request: Any) -> AsyncIterator[tuple[SqliteDriver, Callable[[], None]]]:
    """An open driver with a short busy timeout, and a function that makes its file
    unusable for writes: another connection takes the write lock and keeps it."""
    path = request.getfixturevalue("tmp_path") / "dying.db"
    driver = SqliteDriver(path, busy_timeout_s=0.2)
    await driver.open()
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        yield driver, lambda: holder.execute("BEGIN EXCLUSIVE") and None
    finally:
        holder.close()
        await driver.close()
