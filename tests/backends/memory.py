from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from gello_queue.drivers.memory import MemoryDriver


@asynccontextmanager
async def open_driver(request: Any) -> AsyncIterator[MemoryDriver]:
    driver = MemoryDriver()
    await driver.open()
    yield driver
    await driver.close()


def peer(driver: MemoryDriver) -> MemoryDriver:
    """Another driver on the same store, as another task of the process would be."""
    return MemoryDriver(driver.store)
