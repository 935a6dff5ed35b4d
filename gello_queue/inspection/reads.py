"""The ``Inspector``'s reads: the overview snapshot, listings, one job, and ids by prefix."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from gello_queue.core.errors import JobNotFoundError, NotSupportedError
from gello_queue.core.states import JobState
from gello_queue.diagnosis import Diagnosis, WorkerHint, diagnose
from gello_queue.health import backend_restarts
from gello_queue.inspection.base import InspectorBase
from gello_queue.inspection.detail import JobDetail, detail_of_failed, detail_of_record
from gello_queue.inspection.events import RECENT_EVENTS, events_of
from gello_queue.inspection.failed import FailedFilter, FailureGroup, merge_queue
from gello_queue.inspection.ids import (
    CANDIDATES,
    MIN_PREFIX,
    PREFIX_SCAN,
    FailedIdsByPrefix,
    JobIdsByPrefix,
    one_match,
)
from gello_queue.inspection.snapshot import Snapshot
from gello_queue.inspection.stats import TimingReport, report_of
from gello_queue.inspection.workers import pick_worker
from gello_queue.ports import (
    Capability,
    FailedJob,
    FailedPage,
    FailedTally,
    JobRecord,
    OpsEvent,
    Progress,
    ProgressStore,
    QueueCounts,
    QueueDriver,
    WorkerRecord,
    timing_stats,
)

LISTABLE = (JobState.PENDING, JobState.SCHEDULED, JobState.RESERVED)


class Reads(InspectorBase):
    """Snapshots, listings and lookups."""

    async def snapshot(
        self,
        *,
        throughput_window_s: float = 3600,
        recent_failures: int = 0,
        recent_events: int = 0,
    ) -> Snapshot:
        """Queues by state, live workers, paused queues and per-minute throughput; every
        queue known from a worker's queue list, a pause flag or the window's throughput is
        listed, even when it holds no jobs.

        Bounded cost whatever the backlog: one call per kind of fact, plus one page of
        the newest ``recent_failures`` failed jobs and of the newest ``recent_events``
        operational events when asked.
        """
        driver = await self._driver()
        now = await driver.now()
        counts = await driver.counts()
        paused = await driver.paused()
        workers = await driver.workers()
        throughput = await driver.throughput(now - throughput_window_s)
        # A drained queue holds no jobs but is still known: workers listen to it, it is
        # paused, or it ran jobs within the window. It stays listed, with zero counts.
        known = {*paused, *(q for w in workers for q in w.queues), *(b.queue for b in throughput)}
        for name in known:
            counts.setdefault(name, QueueCounts())
        recent = await driver.failed_list(limit=recent_failures) if recent_failures else []
        return Snapshot(
            taken_at=now,
            queues=counts,
            workers=workers,
            paused=paused,
            throughput=throughput,
            recent_failures=recent,
            restarts=await backend_restarts(driver),
            events=await events_of(driver, recent_events) if recent_events else [],
        )

    async def events(self, *, limit: int = RECENT_EVENTS) -> list[OpsEvent]:
        """The newest operational events the backend keeps (rescues of dead workers'
        jobs), newest first; none when the driver keeps none."""
        return await events_of(await self._driver(), limit)

    async def stats(self, *, window_s: float = 3600) -> TimingReport:
        """Wait and run percentiles, jobs per minute and failure rate per queue and per
        job class, over the last ``window_s`` seconds of the minutes workers stored.

        Raises:
            NotSupportedError: the driver keeps no timings.
        """
        driver = await self._driver()
        store = timing_stats(driver)
        since = await driver.now() - window_s
        return report_of(await store.timings(since), window_s)

    # -- listings --------------------------------------------------------------------
    async def jobs(
        self, queue: str | None, state: JobState, *, limit: int = 50, offset: int = 0
    ) -> list[JobRecord]:
        """One page of pending, scheduled or reserved jobs, oldest first.

        Raises:
            NotSupportedError: the driver cannot list jobs, or ``state`` is not listable.
        """
        if state not in LISTABLE:
            raise NotSupportedError(f"cannot list {state} jobs: use pending, scheduled or reserved")
        driver = await self._driver(Capability.LIST_JOBS)
        return await driver.jobs(queue, state, limit=limit, offset=offset)

    async def progress(self, job_ids: Sequence[str]) -> dict[str, Progress]:
        """The progress each of ``job_ids`` last reported, for those that did (nothing on
        a driver that keeps no progress). One round trip, for a page of running jobs."""
        driver = await self._driver()
        if not job_ids or not isinstance(driver, ProgressStore):
            return {}
        return await driver.progress_get(job_ids)

    async def failed(
        self,
        *,
        queue: str | None = None,
        limit: int = 50,
        offset: int = 0,
        match: FailedFilter | None = None,
        scan_limit: int | None = 20_000,
    ) -> list[FailedJob]:
        """Failed jobs, newest first; ``match`` narrows them (the driver applies it).

        ``offset`` pages by skipping rows, at most ``scan_limit`` (``None``: no limit);
        ``failed_page`` pages by cursor instead, at the same cost for every page.
        """
        match = merge_queue(match, queue)
        if offset == 0:
            return (await self.failed_page(match, limit=limit)).jobs
        out: list[FailedJob] = []
        skipped = 0
        async for job in self._scan(match, None if scan_limit is None else scan_limit + limit):
            if skipped < offset:
                skipped += 1
                continue
            out.append(job)
            if len(out) >= limit:
                break
        return out

    async def failed_page(
        self, match: FailedFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> FailedPage:
        """One page of the failed jobs ``match`` selects, newest first, after ``cursor``
        (the previous page's; None: from the newest)."""
        driver = await self._driver()
        return await driver.failed_search(merge_queue(match, None), limit=limit, cursor=cursor)

    async def failure_groups(self, match: FailedFilter | None = None) -> list[FailureGroup]:
        """The failed jobs ``match`` selects grouped by fingerprint over the whole store,
        biggest first."""
        return await (await self._driver()).failed_groups(merge_queue(match, None))

    async def count_failed(self, match: FailedFilter | None = None) -> int:
        """How many failed jobs ``match`` selects (a lower bound when a free-text count
        stops at its budget: see ``tally_failed``)."""
        return (await self.tally_failed(match)).count

    async def tally_failed(self, match: FailedFilter | None = None) -> FailedTally:
        """How many failed jobs ``match`` selects, and whether the count is complete."""
        return await (await self._driver()).failed_tally(merge_queue(match, None))

    async def job(self, job_id: str) -> JobDetail:
        """One job, queued or failed, with every field.

        Raises:
            JobNotFoundError: no queued or failed job has that id.
        """
        driver = await self._driver()
        record = await driver.find(job_id)
        if record is not None:
            return detail_of_record(record)
        failed = await driver.failed_find(job_id)
        if failed is not None:
            return detail_of_failed(failed)
        raise JobNotFoundError(f"no job with id {job_id}: it may have completed or been deleted")

    async def worker(self, wanted: str) -> tuple[WorkerRecord, list[JobDetail]]:
        """One live worker (by id, name or ``host:pid``) and the jobs it runs now.

        Raises:
            WorkerNotFoundError: no live worker goes by that name, or several do.
        """
        driver = await self._driver()
        record = pick_worker(await driver.workers(), wanted)
        found = await asyncio.gather(*(driver.find(i) for i in record.current_jobs))
        return record, [detail_of_record(r) for r in found if r is not None]

    async def failed_job(self, job_id: str) -> FailedJob:
        """One failed job.

        Raises:
            JobNotFoundError: no failed job has that id.
        """
        found = await (await self._driver()).failed_find(job_id)
        if found is None:
            raise JobNotFoundError(f"no failed job with id {job_id}: see `gello queue:failed`")
        return found

    # -- ids by prefix ---------------------------------------------------------------
    async def resolve_failed_ids(self, given: Sequence[str]) -> list[str]:
        """The failed-job ids ``given`` names: each a full id or a unique prefix of at least
        ``MIN_PREFIX`` characters; one that matches nothing is kept as given (the action
        then counts it not found).

        Raises:
            AmbiguousIdError: a prefix matches several failed jobs (they are named).
        """
        driver = await self._driver()
        out = []
        for job_id in given:
            if len(job_id) < MIN_PREFIX or await driver.failed_find(job_id) is not None:
                out.append(job_id)
                continue
            out.append(
                one_match(job_id, await self._failed_prefixed(driver, job_id), "failed jobs")
            )
        return out

    async def resolve_job_id(self, given: str) -> str:
        """The id of the queued or failed job ``given`` names (a full id or a unique prefix
        of at least ``MIN_PREFIX`` characters); ``given`` when nothing matches.

        Raises:
            AmbiguousIdError: the prefix matches several jobs (they are named).
        """
        driver = await self._driver()
        if len(given) < MIN_PREFIX or await driver.find(given) is not None:
            return given
        queued = (
            await driver.job_ids_by_prefix(given, CANDIDATES + 1)
            if isinstance(driver, JobIdsByPrefix)
            else []
        )
        found = sorted({*queued, *await self._failed_prefixed(driver, given)})
        return one_match(given, found, "jobs")

    async def _failed_prefixed(self, driver: QueueDriver, prefix: str) -> list[str]:
        if isinstance(driver, FailedIdsByPrefix):
            return await driver.failed_ids_by_prefix(prefix, CANDIDATES + 1)
        found: list[str] = []
        async for job in self._scan(FailedFilter(), PREFIX_SCAN):
            if job.id.startswith(prefix):
                found.append(job.id)
                if len(found) > CANDIDATES:
                    break
        return found

    async def why(self, job_id: str, hint: WorkerHint | None = None) -> Diagnosis:
        """Where the job ``job_id`` (a full id or a unique prefix) is and what it waits
        for; ``hint`` says how to start a worker in the commands it suggests.

        Raises:
            AmbiguousIdError: the prefix matches several jobs.
        """
        full = await self.resolve_job_id(job_id)
        return await diagnose(await self._driver(), full, hint)
