"""The ``sync`` connection: a memory driver whose ``push`` runs each job at once.

It stores what a queue's coordination needs (counters, locks, batches, the failed
store) like the memory driver, but a pushed job is run and gone before ``push``
returns, so it has no queue to lease from: the contract joins it only where a test is
marked ``inline_too``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from gello_queue.worker.inline import SyncDriver


@asynccontextmanager
async def open_driver(request: Any) -> AsyncIterator[SyncDriver]:
    driver = SyncDriver()
    await driver.open()
    yield driver
    await driver.close()
