"""The read model and admin actions that the CLI and the dashboard use.

One ``Inspector`` over a ``Queue``: bounded-cost snapshots, listings and actions, the same
for every driver. Tools never call a driver directly.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from gello_queue.core.errors import JobNotFoundError
from gello_queue.ports import FailedJob, QueueCounts, ThroughputBucket, WorkerRecord
from gello_queue.queue import Queue


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything an overview shows, read in a few backend calls."""

    taken_at: float
    queues: dict[str, QueueCounts]
    workers: list[WorkerRecord]
    paused: set[str]
    throughput: list[ThroughputBucket]

    def wait_s(self, queue: str) -> float:
        """Age of the oldest pending job of ``queue`` (0 when none)."""
        counts = self.queues.get(queue)
        if counts is None or counts.oldest_pending_at is None:
            return 0.0
        return max(self.taken_at - counts.oldest_pending_at, 0.0)

    def consumers(self, queue: str) -> list[WorkerRecord]:
        """Live workers that serve ``queue``."""
        return [w for w in self.workers if queue in w.queues]


class Inspector:
    """Reads and manages one connection's queues."""

    def __init__(self, queue: Queue) -> None:
        self.queue = queue

    async def snapshot(self, *, throughput_window_s: float = 3600) -> Snapshot:
        """Queues by state, live workers, paused queues and per-minute throughput."""
        driver = await self.queue.driver()
        now = await driver.now()
        counts = await driver.counts()
        paused = await driver.paused()
        for name in paused:
            counts.setdefault(name, QueueCounts())
        return Snapshot(
            taken_at=now,
            queues=counts,
            workers=await driver.workers(),
            paused=paused,
            throughput=await driver.throughput(now - throughput_window_s),
        )

    async def failed(
        self, *, queue: str | None = None, limit: int = 50, offset: int = 0
    ) -> list[FailedJob]:
        """Failed jobs, newest first."""
        return await (await self.queue.driver()).failed_list(
            queue=queue, limit=limit, offset=offset
        )

    async def failed_job(self, job_id: str) -> FailedJob:
        """One failed job.

        Raises:
            JobNotFoundError: no failed job has that id.
        """
        found = await (await self.queue.driver()).failed_find(job_id)
        if found is None:
            raise JobNotFoundError(f"no failed job with id {job_id}: see `gello queue:failed`")
        return found

    async def retry(self, job_ids: Sequence[str]) -> int:
        """Put failed jobs back on their queues; return how many."""
        return await (await self.queue.driver()).failed_retry(job_ids)

    async def retry_all(self, queue: str | None = None) -> int:
        """Retry every failed job (of one queue); return how many."""
        return await (await self.queue.driver()).failed_retry_all(queue)

    async def forget(self, job_id: str) -> bool:
        """Delete one failed job."""
        return await (await self.queue.driver()).failed_forget(job_id)

    async def flush(self, queue: str | None = None) -> int:
        """Delete every failed job (of one queue); return how many."""
        return await (await self.queue.driver()).failed_flush(queue)

    async def prune_failed(self, older_than_s: float) -> int:
        """Delete failed jobs older than ``older_than_s``; return how many."""
        driver = await self.queue.driver()
        return await driver.failed_prune(await driver.now() - older_than_s)

    async def clear(self, queue: str) -> int:
        """Delete the pending and scheduled jobs of ``queue``; return how many."""
        return await (await self.queue.driver()).clear(queue)

    async def pause(self, queue: str) -> None:
        """Workers skip ``queue`` until it is resumed."""
        await (await self.queue.driver()).pause(queue)

    async def resume(self, queue: str) -> None:
        """Workers take jobs from ``queue`` again."""
        await (await self.queue.driver()).resume(queue)

    async def restart_workers(self) -> float:
        """Ask every worker to exit after its current jobs."""
        return await (await self.queue.driver()).signal_restart()


def heartbeat_age(worker: WorkerRecord, now: float | None = None) -> float:
    """Seconds since the worker's last heartbeat."""
    return max((now if now is not None else time.time()) - worker.last_seen, 0.0)
