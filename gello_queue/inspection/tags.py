"""The ``Inspector``'s monitored tags (as Horizon's "Monitoring"): the tags an operator
watches, kept in the backend so every worker and dashboard sees them, and each tag's
jobs counted by state (``queue:tags``, the dashboard's Tags screen).

Workers read the monitored tags in their maintenance tick, as the paused queues, and mark
the completed jobs that carry one: the history's count trims spare those, and retention
keeps them ``QUEUE_KEEP_MONITORED_HOURS``. A tag monitored from now on keeps the jobs
completed from now on; one no longer monitored leaves its marked jobs to age out."""

from __future__ import annotations

from dataclasses import dataclass

from gello_queue.core.errors import ConfigurationError, GelloError
from gello_queue.core.states import JobState
from gello_queue.core.tags import MAX_TAG_CHARS
from gello_queue.inspection.failed import FailedFilter
from gello_queue.inspection.history import History
from gello_queue.inspection.matching import Matching
from gello_queue.ports import job_history

WAITING = (JobState.PENDING, JobState.SCHEDULED, JobState.RESERVED)
"""The states a tag's "waiting" count adds up (running jobs included, as Horizon's)."""


@dataclass(frozen=True, slots=True)
class TagCounts:
    """How many jobs carrying a tag there are in each state."""

    tag: str
    completed: int | None
    """Kept in the history; None when the connection keeps none."""
    failed: int
    waiting: int | None
    """Pending, scheduled and running; None when the driver cannot list its jobs (a
    broker)."""
    complete: bool = True
    """False when a count stopped at its read limit (then a lower bound)."""


def checked_tag(tag: str) -> str:
    """``tag`` as it is stored, or one clear error."""
    if not isinstance(tag, str) or not tag.strip():
        raise ConfigurationError("a tag must be a non-empty string, such as customer:42")
    if len(tag) > MAX_TAG_CHARS:
        raise ConfigurationError(f"a tag is at most {MAX_TAG_CHARS} characters, not {len(tag)}")
    return tag


class Tags(History, Matching):
    """Monitored tags and the jobs each one carries."""

    async def monitor_tag(self, tag: str) -> bool:
        """Monitor ``tag``: the completed jobs carrying it are kept past the history's
        count limit, ``QUEUE_KEEP_MONITORED_HOURS``. False when it already was.

        Raises:
            ConfigurationError: not a tag.
            NotSupportedError: the connection keeps no completed-job history.
        """
        return await job_history(await self._driver()).tag_monitor(checked_tag(tag), True)

    async def unmonitor_tag(self, tag: str) -> bool:
        """Stop monitoring ``tag``; False when it was not monitored. Its jobs already
        kept go by ``QUEUE_KEEP_MONITORED_HOURS``."""
        return await job_history(await self._driver()).tag_monitor(checked_tag(tag), False)

    async def monitored_tags(self) -> list[str]:
        """The monitored tags, sorted; none on a connection that keeps no history."""
        driver = await self._driver()
        if not await self.keeps_history():
            return []
        return await job_history(driver).tags_monitored()

    async def tag_counts(self, tag: str) -> TagCounts:
        """How many jobs carry ``tag``: completed (kept), failed and waiting."""
        match = FailedFilter(tag=checked_tag(tag))
        failed = await self.failed_matching(match, limit=1)
        complete = failed.complete
        completed: int | None = None
        if await self.keeps_history():
            done = await self.completed_matching(match, limit=1)
            completed, complete = done.count, complete and done.complete
        waiting: int | None = 0
        for state in WAITING:
            try:
                page = await self.jobs_matching(state, match, limit=1)
            except GelloError:  # a broker: it cannot list the messages it holds
                waiting = None
                break
            waiting = (waiting or 0) + page.count
            complete = complete and page.complete
        return TagCounts(tag, completed, failed.count, waiting, complete)
