"""The ``Inspector``'s filtered listings with their true counts: one page of the jobs a
filter selects, and how many it selects in all, read in one pass."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from gello_queue.core.states import JobState
from gello_queue.inspection.base import SCAN_PAGE, InspectorBase
from gello_queue.inspection.detail import detail_of_record
from gello_queue.inspection.failed import FailedFilter, merge_queue
from gello_queue.ports import Capability, FailedJob, JobRecord

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
    """Where the next page starts (failed jobs; None: this was the last page)."""


def job_matches(match: FailedFilter, record: JobRecord) -> bool:
    """Whether the queued job ``record`` is selected: queue, job name and text (in its id
    and job name) as for failed jobs; ``exc:`` and ``fp:`` select failures, so no queued
    job."""
    if match.exception is not None or match.fingerprint is not None:
        return False
    if match.queue is not None and record.queue != match.queue:
        return False
    name = detail_of_record(record).name.lower()
    if match.name is not None and match.name.lower() not in name:
        return False
    return match.text is None or match.text.lower() in f"{record.id} {name}".lower()


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
    ) -> Matches[JobRecord]:
        """The oldest ``limit`` pending, scheduled or reserved jobs that ``match`` selects
        (within ``queues`` when given), and how many it selects among at most
        ``scan_limit`` jobs read.

        Raises:
            NotSupportedError: the driver cannot list jobs.
        """
        match = merge_queue(match, None)
        keep = None if queues is None else set(queues)
        driver = await self._driver(Capability.LIST_JOBS)
        found: list[JobRecord] = []
        matched = offset = 0
        while scan_limit is None or offset < scan_limit:
            size = SCAN_PAGE if scan_limit is None else min(SCAN_PAGE, scan_limit - offset)
            page = await driver.jobs(match.queue, state, limit=size, offset=offset)
            for record in page:
                if (keep is None or record.queue in keep) and job_matches(match, record):
                    matched += 1
                    if len(found) < limit:
                        found.append(record)
            if len(page) < size:
                return Matches(found, matched)
            offset += len(page)
        return Matches(found, matched, complete=False)

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
