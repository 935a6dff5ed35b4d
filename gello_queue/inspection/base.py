"""The connection every part of the ``Inspector`` shares, and the failed-store scan the
filtered reads and actions page through."""

from __future__ import annotations

from collections.abc import AsyncIterator

from gello_queue.inspection.failed import FailedFilter
from gello_queue.ports import Capability, FailedJob, QueueDriver, require
from gello_queue.queue import Queue

SCAN_PAGE = 500
"""Failed jobs read per call when a filter must look at every row."""


class InspectorBase:
    """Reads and manages one connection's queues."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    async def _driver(self, capability: Capability | None = None) -> QueueDriver:
        driver = await self.queue.driver()
        if capability is not None:
            require(driver, capability)
        return driver

    async def _scan(self, match: FailedFilter, scan_limit: int | None) -> AsyncIterator[FailedJob]:
        driver = await self._driver()
        offset = 0
        while scan_limit is None or offset < scan_limit:
            size = SCAN_PAGE if scan_limit is None else min(SCAN_PAGE, scan_limit - offset)
            page = await driver.failed_list(queue=match.queue, limit=size, offset=offset)
            for job in page:
                if match.matches(job):
                    yield job
            if len(page) < size:
                return
            offset += len(page)

    async def _matching_ids(self, match: FailedFilter) -> list[str]:
        return [job.id async for job in self._scan(match, None)]
