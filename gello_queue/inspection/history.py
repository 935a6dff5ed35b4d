"""The ``Inspector``'s view of the completed-job history (``queue:recent``, the
dashboard's Completed tab)."""

from __future__ import annotations

from gello_queue.inspection.base import InspectorBase
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
    ) -> list[CompletedJob]:
        """Completed jobs kept in the history, newest first (of one queue, one job name,
        finished at or after ``since``). Raises ``NotSupportedError`` when the driver
        keeps no history."""
        store = job_history(await self._driver())
        limit = min(max(limit, 0), RECENT_MAX)
        return await store.recent(queue=queue, name=name, limit=limit, since=since)

    async def keeps_history(self) -> bool:
        """Whether the connection keeps completed jobs (its driver and the settings)."""
        driver = await self._driver()
        return isinstance(driver, JobHistory) and self.queue.settings.queue_keep_completed > 0
