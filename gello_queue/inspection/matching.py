"""The ``Inspector``'s filtered listings with their true counts: one page of the jobs a
filter selects, and how many it selects in all, read in one pass."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

from gello_queue.core.errors import ConfigurationError, NotSupportedError
from gello_queue.core.failed_query import BULK_BATCH
from gello_queue.core.job_query import queued_matches
from gello_queue.core.states import JobState
from gello_queue.inspection.base import SCAN_PAGE, InspectorBase
from gello_queue.inspection.failed import FailedFilter, merge_queue
from gello_queue.ports import Capability, FailedJob, FailedTally, JobQueries, JobRecord

T = TypeVar("T")

JOBS_SCANNED = 20_000
"""Queued jobs of one state read at most to apply a filter beyond the queue."""


@dataclass(frozen=True, slots=True)
class Matches(Generic[T]):
    """The first jobs a filter selects, and how many it selects."""

    jobs: list[T] = field(default_factory=list)
    count: int = 0
    complete: bool = True
    """False when the read stopped at its limit: ``count`` is then a lower bound."""
    cursor: str | None = None
    """Pass it back for the page after ``jobs``; None when they are the last."""


def job_matches(match: FailedFilter, record: JobRecord) -> bool:
    """Whether the queued job ``record`` is selected (see ``core.job_query``)."""
    return queued_matches(merge_queue(match, None), record)


class Matching(InspectorBase):
    """Filtered listings that also say how many jobs match."""

    async def jobs_matching(
        self,
        state: JobState,
        match: FailedFilter | None = None,
        *,
        queues: Sequence[str] | None = None,
        limit: int = 50,
        scan_limit: int | None = JOBS_SCANNED,
        cursor: str | None = None,
    ) -> Matches[JobRecord]:
        """The first ``limit`` pending, scheduled or reserved jobs that ``match`` selects
        (within ``queues`` when given) after ``cursor`` (the previous page's), and how
        many it selects in all.

        A driver with the ``JobQueries`` port finds both in its backend, whatever the
        size of the queues; on another (one spanning several connections) this reads at
        most ``scan_limit`` jobs, oldest first, and pages by offset.

        Raises:
            NotSupportedError: the driver cannot list jobs.
        """
        match = merge_queue(match, None)
        if queues is not None and match.queue is None and len(queues) == 1:
            match = replace(match, queue=queues[0])
        driver = await self._driver(Capability.LIST_JOBS)
        if not isinstance(driver, JobQueries):
            return await self._jobs_scanned(state, match, queues, limit, scan_limit, cursor)
        if queues is None or match.queue is not None:
            if queues is not None and match.queue not in queues:
                return Matches()
            page = await driver.jobs_search(state, match, limit=limit, cursor=cursor)
            tally = await driver.jobs_tally(state, match)
            complete = tally.complete and page.complete
            return Matches(page.jobs, tally.count, complete, page.cursor)
        return await _over_queues(driver, state, match, list(queues), limit, cursor)

    async def _jobs_scanned(
        self,
        state: JobState,
        match: FailedFilter,
        queues: Sequence[str] | None,
        limit: int,
        scan_limit: int | None,
        cursor: str | None,
    ) -> Matches[JobRecord]:
        """``jobs_matching`` on a driver without ``JobQueries``: read and filter here; the
        cursor is the number of matches to skip."""
        skip = int(cursor) if cursor is not None and cursor.isdigit() else 0
        keep = None if queues is None else set(queues)
        driver = await self._driver(Capability.LIST_JOBS)
        found: list[JobRecord] = []
        matched = offset = 0
        while scan_limit is None or offset < scan_limit:
            size = SCAN_PAGE if scan_limit is None else min(SCAN_PAGE, scan_limit - offset)
            page = await driver.jobs(match.queue, state, limit=size, offset=offset)
            for record in page:
                if (keep is None or record.queue in keep) and queued_matches(match, record):
                    matched += 1
                    if matched > skip and len(found) < limit:
                        found.append(record)
            if len(page) < size:
                more = str(skip + limit) if matched > skip + limit else None
                return Matches(found, matched, cursor=more)
            offset += len(page)
        more = str(skip + limit) if matched > skip + limit else None
        return Matches(found, matched, complete=False, cursor=more)

    async def _job_queries(self) -> JobQueries:
        driver = await self._driver(Capability.LIST_JOBS)
        if not isinstance(driver, JobQueries):
            raise NotSupportedError(
                f"the {driver.name} driver cannot act on the jobs a filter selects"
                " (no JobQueries port): act on jobs one by one"
            )
        return driver

    async def tally_jobs(self, state: JobState, match: FailedFilter | None = None) -> FailedTally:
        """How many jobs in ``state`` ``match`` selects, found by the driver.

        Raises:
            NotSupportedError: the driver has no ``JobQueries`` port.
        """
        return await (await self._job_queries()).jobs_tally(state, merge_queue(match, None))

    async def cancel_matching_steps(
        self, state: JobState, match: FailedFilter | None = None, *, batch: int = BULK_BATCH
    ) -> AsyncIterator[int]:
        """Cancel (delete) the pending or scheduled jobs ``match`` selects, ``batch`` per
        step, yielding how many so far after each step. Stopping the loop stops the action
        between steps: the jobs cancelled stay cancelled, the others wait as they were.

        Raises:
            NotSupportedError: the driver has no ``JobQueries`` port.
        """
        driver = await self._job_queries()
        query = merge_queue(match, None)
        done, cursor = 0, None
        while True:
            step = await driver.jobs_cancel_step(state, query, limit=batch, cursor=cursor)
            done += step.done
            yield done
            if step.cursor is None:
                return
            cursor = step.cursor

    async def promote_matching_steps(
        self, match: FailedFilter | None = None, *, batch: int = BULK_BATCH
    ) -> AsyncIterator[int]:
        """Make the scheduled jobs ``match`` selects available now, as
        ``cancel_matching_steps`` cancels them."""
        driver = await self._job_queries()
        query = merge_queue(match, None)
        done, cursor = 0, None
        while True:
            step = await driver.jobs_promote_step(query, limit=batch, cursor=cursor)
            done += step.done
            yield done
            if step.cursor is None:
                return
            cursor = step.cursor

    async def failed_matching(
        self, match: FailedFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> Matches[FailedJob]:
        """The newest ``limit`` failed jobs ``match`` selects (after ``cursor``, a previous
        page's) and how many it selects in all, both found by the driver (a free-text
        count may stop at its budget: then ``complete`` is False and ``count`` a lower
        bound)."""
        match = merge_queue(match, None)
        driver = await self._driver()
        page = await driver.failed_search(match, limit=limit, cursor=cursor)
        tally = await driver.failed_tally(match)
        return Matches(page.jobs, tally.count, complete=tally.complete, cursor=page.cursor)


async def _over_queues(
    driver: JobQueries,
    state: JobState,
    match: FailedFilter,
    queues: list[str],
    limit: int,
    cursor: str | None,
) -> Matches[JobRecord]:
    """``jobs_matching`` within several queues: each queue counted, and paged one after
    the other; the cursor names the queue and holds that queue's own cursor."""
    start, inner = 0, None
    if cursor is not None:
        try:
            start, inner = json.loads(cursor)
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"not a job listing cursor: {cursor[:40]!r}") from exc
    jobs: list[JobRecord] = []
    total, complete, after = 0, True, None
    for n, queue in enumerate(queues):
        query = replace(match, queue=queue)
        tally = await driver.jobs_tally(state, query)
        total += tally.count
        complete = complete and tally.complete
        if n < start or after is not None:
            continue
        if len(jobs) >= limit:
            after = json.dumps([n, None]) if tally.count else None
            continue
        own = inner if n == start else None
        page = await driver.jobs_search(state, query, limit=limit - len(jobs), cursor=own)
        jobs += page.jobs
        complete = complete and page.complete
        if page.cursor is not None:
            after = json.dumps([n, page.cursor])
    return Matches(jobs, total, complete, after)
