from __future__ import annotations

from collections.abc import AsyncIterator
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
