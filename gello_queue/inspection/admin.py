"""The ``Inspector``'s actions: on the failed store, on queues and on single jobs."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import ConfigurationError, JobNotFoundError, NotSupportedError
from gello_queue.core.failed_query import BULK_BATCH
from gello_queue.core.states import WorkerCommand
from gello_queue.inspection.base import InspectorBase
from gello_queue.inspection.failed import FailedFilter, merge_queue
from gello_queue.inspection.workers import pick_worker
from gello_queue.ports import (
    Capability,
    EventKind,
    FailedJob,
    FailedStep,
    OpsEvent,
    QueueDriver,
    WorkerRecord,
    event_log,
)
from gello_queue.retention import Limits

StepOf = Callable[..., Awaitable[FailedStep]]
"""A driver's bound ``failed_retry_step`` or ``failed_purge_step``."""


class Admin(InspectorBase):
    """Retry, forget, flush and prune failed jobs; clear, pause and resume queues; run
    or cancel one job; restart workers."""

    async def retry(self, job_ids: Sequence[str]) -> int:
        """Put failed jobs back on their queues; return how many (missing ids skipped)."""
        return await (await self._driver()).failed_retry(job_ids)

    async def retry_jobs(self, job_ids: Sequence[str]) -> int:
        """Like ``retry``, but an action that found none of the jobs is an error.

        Raises:
            JobNotFoundError: none of the ids is in the failed store.
        """
        done = await self.retry(job_ids)
        if job_ids and not done:
            raise JobNotFoundError(_gone(job_ids, "failed"))
        return done

    async def retry_all(self, queue: str | None = None) -> int:
        """Retry every failed job (of one queue); return how many."""
        return await (await self._driver()).failed_retry_all(queue)

    async def retry_matching(self, match: FailedFilter | None = None) -> int:
        """Retry every failed job ``match`` selects; return how many."""
        return await _last(self.retry_matching_steps(match))

    def retry_matching_steps(
        self, match: FailedFilter | None = None, *, batch: int = BULK_BATCH
    ) -> AsyncIterator[int]:
        """Retry the failed jobs ``match`` selects, ``batch`` per step, yielding how many
        were retried so far after each step. Stopping the loop (or cancelling its task)
        stops the action between steps: the jobs retried stay retried, the others stay
        failed, none is lost."""
        return self._steps(lambda d: d.failed_retry_step, match, batch)

    def purge_matching_steps(
        self, match: FailedFilter | None = None, *, batch: int = BULK_BATCH
    ) -> AsyncIterator[int]:
        """Delete the failed jobs ``match`` selects, as ``retry_matching_steps`` retries
        them."""
        return self._steps(lambda d: d.failed_purge_step, match, batch)

    async def _steps(
        self, operation: Callable[[QueueDriver], StepOf], match: FailedFilter | None, batch: int
    ) -> AsyncIterator[int]:
        step_of = operation(await self._driver())
        query = merge_queue(match, None)
        done, cursor = 0, None
        while True:
            step = await step_of(query, limit=batch, cursor=cursor)
            done += step.done
            yield done
            if step.cursor is None:
                return
            cursor = step.cursor

    async def forget(self, job_id: str) -> bool:
        """Delete one failed job."""
        return await (await self._driver()).failed_forget(job_id)

    async def forget_jobs(self, job_ids: Sequence[str]) -> int:
        """Delete failed jobs; return how many.

        Raises:
            JobNotFoundError: none of the ids is in the failed store.
        """
        done = 0
        for job_id in job_ids:
            done += await self.forget(job_id)
        if job_ids and not done:
            raise JobNotFoundError(_gone(job_ids, "failed"))
        return done

    async def flush(self, queue: str | None = None) -> int:
        """Delete every failed job (of one queue); return how many."""
        return await (await self._driver()).failed_flush(queue)

    async def purge_matching(self, match: FailedFilter | None = None) -> int:
        """Delete every failed job ``match`` selects; return how many."""
        return await _last(self.purge_matching_steps(match))

    async def prune_failed(self, older_than_s: float) -> int:
        """Delete failed jobs older than ``older_than_s``; return how many."""
        driver = await self._driver()
        return await driver.failed_prune(await driver.now() - older_than_s)

    # -- queue and job actions -------------------------------------------------------
    async def clear(self, queue: str) -> int:
        """Delete the pending and scheduled jobs of ``queue``; return how many.

        Raises:
            NotSupportedError: the driver cannot clear a queue.
        """
        return await (await self._driver(Capability.CLEAR)).clear(queue)

    async def pause(self, queue: str) -> None:
        """Workers skip ``queue`` until it is resumed."""
        await (await self._driver()).pause(queue)

    async def resume(self, queue: str) -> None:
        """Workers take jobs from ``queue`` again."""
        await (await self._driver()).resume(queue)

    async def run_now(self, job_id: str) -> int:
        """Make a scheduled job available now; return 1.

        Raises:
            JobNotFoundError: no scheduled job has that id.
        """
        if not await (await self._driver()).promote(job_id):
            raise JobNotFoundError(_gone([job_id], "scheduled"))
        return 1

    async def record_balance(self, supervisor: str, detail: str) -> None:
        """Keep a ``--balance auto`` decision among the operational events, for every
        dashboard and ``queue:status`` to show (nothing on a driver that keeps none)."""
        driver = await self._driver()
        with contextlib.suppress(NotSupportedError):
            log = event_log(driver)
            at = await driver.now()
            await log.events_add(
                [OpsEvent(EventKind.BALANCED, at, supervisor, detail=detail, by=supervisor)]
            )

    async def cancel(self, job_id: str) -> int:
        """Delete a pending or scheduled job; return 1.

        Raises:
            NotSupportedError: the driver cannot cancel jobs.
            JobNotFoundError: no pending or scheduled job has that id (a running job
                cannot be cancelled).
        """
        if not await (await self._driver(Capability.CANCEL)).cancel(job_id):
            raise JobNotFoundError(_gone([job_id], "pending or scheduled"))
        return 1

    async def cancel_jobs(self, job_ids: Sequence[str]) -> int:
        """Delete pending or scheduled jobs by id; return how many (a running or missing
        one is skipped).

        Raises:
            NotSupportedError: the driver cannot cancel jobs.
            JobNotFoundError: none of the ids is a pending or scheduled job.
        """
        driver = await self._driver(Capability.CANCEL)
        done = 0
        for job_id in job_ids:
            done += await driver.cancel(job_id)
        if job_ids and not done:
            raise JobNotFoundError(_gone(job_ids, "pending or scheduled"))
        return done

    async def command_worker(self, worker: str, command: WorkerCommand | str) -> WorkerRecord:
        """Leave ``command`` (pause, resume, quiet, stop) for one worker, named by its id,
        its name or ``host:pid`` (as ``queue:status`` and the dashboard show it); the
        worker applies it within a second or so, on whatever host it runs. Returns the
        worker's record.

        Raises:
            ConfigurationError: ``command`` is not a ``WorkerCommand``.
            WorkerNotFoundError: no live worker goes by that name, or several do.
        """
        try:
            order = WorkerCommand(command)
        except ValueError:
            known = ", ".join(WorkerCommand)
            raise ConfigurationError(f"unknown worker command {command!r}; use {known}") from None
        driver = await self._driver()
        record = pick_worker(await driver.workers(), worker)
        await driver.worker_command(record.id, order)
        return record

    async def restart_workers(self) -> float:
        """Ask every worker to exit after its current jobs."""
        return await (await self._driver()).signal_restart()

    # -- moving failed jobs between environments -------------------------------------
    async def import_failed(self, jobs: Sequence[FailedJob]) -> int:
        """Put failed jobs into the failed store as they were (same ids, failures and
        times); return how many were new (one already there is left alone)."""
        return await (await self._driver()).failed_import(jobs)

    async def failed_retention_cutoff(self) -> float | None:
        """The failure time before which workers prune a failed job (None: kept forever)."""
        hours = Limits.from_settings(self.queue.settings).failed_hours
        return await (await self._driver()).now() - hours * 3600 if hours else None

    async def push_envelopes(self, envelopes: Sequence[Envelope]) -> list[str]:
        """Store ready-made envelopes as pending or scheduled jobs; return their ids."""
        return await (await self._driver()).push(envelopes)


async def _last(steps: AsyncIterator[int]) -> int:
    """The last total a bulk action's steps yield (0 when it had none)."""
    done = 0
    async for total in steps:
        done = total
    return done


def _gone(job_ids: Sequence[str], where: str) -> str:
    shown = ", ".join(job_ids[:3]) + (" …" if len(job_ids) > 3 else "")
    return f"no {where} job with id {shown}: it may have been retried, run or deleted already"
