"""Wait and run times per queue and job class, gathered from the worker's own events and
flushed by the heartbeat with the throughput counters (``Maintenance.beat``).

A listener on the hot path: each event costs a dict lookup, a bisect and an add. The
counts are kept sparse until the beat turns them into ``TimingCount`` rows of the beat's
minute, as the throughput counters are.
"""

from __future__ import annotations

from typing import Any

from gello_queue.core.timing import Series, TimingCount, bucket_of
from gello_queue.events import JobFailed, JobProcessed, JobReserved, JobRetrying

_Key = tuple[str, str, Series, int]
"""(queue, job, series, bucket)."""


class TimingTally:
    """What this worker counted since the last flush (an ``Events`` listener)."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: dict[_Key, int] = {}

    def __call__(self, event: Any) -> None:
        kind = type(event)
        if kind is JobReserved:
            self._add(event.queue, event.name, Series.WAIT, bucket_of(event.wait_s))
        elif kind is JobProcessed:
            self._ran(event, Series.PROCESSED)
        elif kind is JobFailed:
            self._ran(event, Series.FAILED)
        elif kind is JobRetrying:
            self._ran(event, None)

    def _ran(self, e: JobProcessed | JobFailed | JobRetrying, outcome: Series | None) -> None:
        # Every attempt's run time counts; only an attempt that ended the job counts as
        # processed or failed (a retried one is neither yet), as the throughput does.
        self._add(e.queue, e.name, Series.RUN, bucket_of(e.duration_s))
        if outcome is not None:
            self._add(e.queue, e.name, outcome, 0)

    def _add(self, queue: str, job: str, series: Series, bucket: int) -> None:
        key = (queue, job, series, bucket)
        self._counts[key] = self._counts.get(key, 0) + 1

    def drain(self, minute: int) -> list[TimingCount]:
        """Everything counted so far as rows of ``minute``, and start again from zero."""
        counts, self._counts = self._counts, {}
        return [TimingCount(minute, q, j, s, b, n) for (q, j, s, b), n in counts.items()]
