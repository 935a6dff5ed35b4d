"""Jobs failed by rescue (their worker died on the last attempt) still stop their chain
and count in their batch: the worker settles their flow when rescue reports them."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from gello_queue.events import JobsRescued
from gello_queue.ports import QueueDriver
from gello_queue.worker.executor import Executor


class RescuedFlow:
    """An event listener: settles the chain or batch of each job rescue failed."""

    def __init__(self, driver: QueueDriver, executor: Executor, log: Any) -> None:
        self._driver = driver
        self._executor = executor
        self._log = log
        self._settling: set[asyncio.Task[None]] = set()

    def __call__(self, event: object) -> None:
        if isinstance(event, JobsRescued) and event.failed:
            task = asyncio.create_task(self._settle(event.failed))
            self._settling.add(task)
            task.add_done_callback(self._settling.discard)

    async def _settle(self, job_ids: Sequence[str]) -> None:
        from gello_queue.core.envelope import Envelope
        from gello_queue.core.errors import EnvelopeError
        from gello_queue.orchestration.flow import involved

        for job_id in job_ids:
            try:
                failed = await self._driver.failed_find(job_id)
                env = None if failed is None else Envelope.decode(failed.body)
                if env is not None and involved(env):
                    await self._executor.flow.failed(env)
            except EnvelopeError:
                continue
            except Exception as exc:
                self._log.error("flow_error", id=job_id, error=repr(exc))
