"""``QueueHarness``: a real in-memory queue and worker for tests that need jobs to run."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from gello_queue.core.states import JobState
from gello_queue.events import Events, JobFailed, JobProcessed, JobReleased, JobRetrying
from gello_queue.queue import Queue
from gello_queue.settings import Settings
from gello_queue.testing.records import JobRef, job_name


@dataclass(slots=True)
class QueueHarness:
    """A real ``memory://`` queue (installed as the default) and ``drain()`` that runs a
    worker until every dispatched job has completed or failed."""

    queue: Queue
    processed: list[JobProcessed] = field(default_factory=list)
    failed: list[JobFailed] = field(default_factory=list)
    retried: list[JobRetrying] = field(default_factory=list)
    released: list[JobReleased] = field(default_factory=list)

    @classmethod
    def create(cls, settings: Settings | None = None) -> QueueHarness:
        return cls(Queue(f"memory://gello-test-{uuid.uuid4().hex}", settings=settings))

    def _listen(self, event: Any) -> None:
        match event:
            case JobProcessed():
                self.processed.append(event)
            case JobFailed():
                self.failed.append(event)
            case JobRetrying():
                self.retried.append(event)
            case JobReleased():
                self.released.append(event)
            case _:
                pass

    async def drain(
        self, *, timeout_s: float = 10.0, run_delayed: bool = True, concurrency: int = 1
    ) -> None:
        """Run jobs (and the jobs they dispatch) until no queue holds any.

        ``run_delayed`` makes delayed jobs and retry backoffs due at once, so a test never
        waits for them. Raises ``AssertionError`` when jobs remain after ``timeout_s``.
        """
        from gello_queue.worker.runtime import Worker

        driver = await self.queue.driver()
        deadline = time.monotonic() + timeout_s
        while True:
            counts = await driver.counts()
            busy = sorted(q for q, c in counts.items() if c.total)
            if not busy:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"drain timed out after {timeout_s:g}s; left: {counts}")
            worker = Worker(
                busy,
                connection=self.queue,
                concurrency=concurrency,
                sleep_s=0.01,
                stop_when_empty=True,
                events=Events([self._listen]),
                grace_s=0,
            )
            promoter = asyncio.create_task(self._promote(busy)) if run_delayed else None
            try:
                await asyncio.wait_for(worker.start(), left)
            except TimeoutError:
                worker.stop_now()
            finally:
                if promoter is not None:
                    promoter.cancel()
                    await asyncio.gather(promoter, return_exceptions=True)

    async def _promote(self, queues: list[str]) -> None:
        driver = await self.queue.driver()
        while True:
            for queue in queues:
                for record in await driver.jobs(queue, JobState.SCHEDULED, limit=500):
                    await driver.promote(record.id)
            await asyncio.sleep(0.005)

    def drain_blocking(self, *, timeout_s: float = 10.0, run_delayed: bool = True) -> None:
        """Blocking twin of ``drain``; runs on the loop the queue's blocking calls use."""
        self.queue._run(lambda: self.drain(timeout_s=timeout_s, run_delayed=run_delayed))

    def processed_names(self) -> list[str]:
        """Names of the jobs that completed, in order."""
        return [e.name for e in self.processed]

    def assert_processed(self, job: JobRef, times: int | None = None) -> None:
        """``job`` completed (``times`` times when given)."""
        count = sum(1 for e in self.processed if e.name == job_name(job))
        if (times is None and count == 0) or (times is not None and count != times):
            expected = "at least once" if times is None else f"{times} time(s)"
            raise AssertionError(
                f"{job_name(job)} completed {count} time(s), expected {expected}; "
                f"completed: {self.processed_names()}, failed: {[e.name for e in self.failed]}"
            )

    def close(self) -> None:
        """Close the queue's shared blocking driver and forget its in-memory store."""
        from gello_queue.drivers.memory import store

        self.queue.close_blocking()
        store._STORES.pop(self.queue.url.split("://", 1)[1], None)
