"""The connection every part of the ``Inspector`` shares, and the failed-store scan the
filtered reads and actions page through."""

from __future__ import annotations

from collections.abc import AsyncIterator

from gello_queue.inspection.failed import FailedFilter
from gello_queue.ports import Capability, FailedJob, QueueDriver, require
from gello_queue.queue import Queue

SCAN_PAGE = 500
"""Failed jobs read per call when a listing pages through the failed store."""


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
        """The failed jobs ``match`` selects, newest first, at most ``scan_limit`` (None:
        all), read a page at a time by cursor (the driver applies the filter)."""
        driver = await self._driver()
        cursor: str | None = None
        left = scan_limit
        while left is None or left > 0:
            size = SCAN_PAGE if left is None else min(SCAN_PAGE, left)
            page = await driver.failed_search(match, limit=size, cursor=cursor)
            for job in page.jobs:
                yield job
            if left is not None:
                left -= len(page.jobs)
            if page.cursor is None:
                return
            cursor = page.cursor

    async def _matching_ids(self, match: FailedFilter) -> list[str]:
        return [job.id async for job in self._scan(match, None)]
