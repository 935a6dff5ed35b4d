"""Batches as operators see them: list, inspect, cancel, retry and prune."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from gello_queue.core.errors import JobNotFoundError
from gello_queue.ports import BatchRecord

if TYPE_CHECKING:
    from gello_queue.queue import Queue


class Batches:
    """Batch administration over one connection (what ``queue:batches`` and friends use)."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    async def list(self, *, limit: int = 50, offset: int = 0) -> list[BatchRecord]:
        """Batches, newest first."""
        return await (await self.queue.driver()).batch_list(limit=limit, offset=offset)

    async def find(self, batch_id: str) -> BatchRecord:
        """One batch with the ids of its failed jobs.

        Raises:
            JobNotFoundError: no such batch (pruned, or never dispatched).
        """
        found = await (await self.queue.driver()).batch_find(batch_id)
        if found is None:
            raise JobNotFoundError(f"no batch {batch_id!r}: see `gello queue:batches`")
        return found

    async def cancel(self, batch_id: str) -> None:
        """Cancel a batch: its jobs that have not started are skipped."""
        await self.find(batch_id)
        await (await self.queue.driver()).batch_cancel(batch_id)

    async def retry(self, batch_id: str) -> int:
        """Put the batch's failed jobs back on their queues (a batch cancelled by their
        failure goes on); return how many were retried."""
        found = await self.find(batch_id)
        driver = await self.queue.driver()
        await driver.batch_cancel(batch_id, cancelled=False)
        return await driver.failed_retry(list(found.failed_ids))

    async def prune(self, hours: float) -> int:
        """Delete batches that finished (or were cancelled) more than ``hours`` ago."""
        driver = await self.queue.driver()
        return await driver.batch_prune(time.time() - hours * 3600)
