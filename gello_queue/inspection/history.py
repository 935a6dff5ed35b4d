"""The ``Inspector``'s view of the completed-job history (``queue:recent``, the
dashboard's Completed tab)."""

from __future__ import annotations

from gello_queue.core.failed_query import merge_queue
from gello_queue.inspection.base import InspectorBase
from gello_queue.inspection.failed import FailedFilter
from gello_queue.inspection.matching import Matches
from gello_queue.ports import CompletedJob, JobHistory, job_history

RECENT_MAX = 10_000
"""The most completed jobs one listing returns."""


class History(InspectorBase):
    """Completed jobs, newest first."""

    async def recent(
        self,
        *,
        queue: str | None = None,
        name: str | None = None,
        limit: int = 50,
        since: float | None = None,
        tag: str | None = None,
    ) -> list[CompletedJob]:
        """Completed jobs kept in the history, newest first (of one queue, one job name,
        finished at or after ``since``, carrying ``tag``). Raises ``NotSupportedError``
        when the driver keeps no history."""
        store = job_history(await self._driver())
        limit = min(max(limit, 0), RECENT_MAX)
        return await store.recent(queue=queue, name=name, limit=limit, since=since, tag=tag)

    async def completed_matching(
        self, match: FailedFilter | None = None, *, limit: int = 50
    ) -> Matches[CompletedJob]:
        """The newest ``limit`` completed jobs kept that ``match`` selects (see
        ``FailedFilter.matches_completed``) and how many in all: the history is read
        by queue, tag and age in the backend, at most ``RECENT_MAX`` records (past that,
        ``complete`` is False). Raises ``NotSupportedError`` when the driver keeps no
        history."""
        match = merge_queue(match, None)
        store = job_history(await self._driver())
        read = await store.recent(
            queue=match.queue, tag=match.tag, since=match.after, limit=RECENT_MAX
        )
        picked = [c for c in read if match.matches_completed(c)]
        return Matches(picked[: max(limit, 0)], len(picked), complete=len(read) < RECENT_MAX)

    async def keeps_history(self) -> bool:
        """Whether the connection keeps completed jobs (its driver and the settings)."""
        driver = await self._driver()
        return isinstance(driver, JobHistory) and self.queue.settings.queue_keep_completed > 0
