"""The completed-job history on PostgreSQL: kept by the ack's own statement
(``ack_recording``), trimmed to each queue's newest ``keep`` now and then."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gello_queue.core.tags import tag_needle
from gello_queue.drivers.common import HISTORY_TRIM_EVERY
from gello_queue.drivers.postgres.connection import Database
from gello_queue.ports import CompletedJob, Reservation


class History(Database):
    """The ``JobHistory`` port, on the completed table."""

    _history_writes = 0
    """Recording calls by this driver, counted for the trim."""

    async def ack_recording(
        self, reservations: Sequence[Reservation], completed: Sequence[CompletedJob], keep: int
    ) -> list[str]:
        records = {c.id: c for c in completed}
        acked = [records.pop(r.id, None) for r in reservations]
        elsewhere = list(records.values())
        lost: list[str] = []
        if reservations:
            rows = await self._fetch(
                "ack_recording",
                [r.id for r in reservations],
                [r.token for r in reservations],
                *_aligned(acked),
            )
            self._acked_jobs(len(reservations) - len(rows))
            lost = [row[0] for row in rows]
        if elsewhere:
            await self._execute("history_record", *_columns(elsewhere))
        self._history_writes += 1
        if keep > 0 and completed and self._history_writes % HISTORY_TRIM_EVERY == 1:
            for queue in {c.queue for c in completed}:
                await self._execute("history_trim", queue, keep)
        return lost

    def _acked_jobs(self, count: int) -> None:
        """What the driver does after an ack deleted ``count`` jobs (vacuum bookkeeping)."""

    async def recent(
        self,
        *,
        queue: str | None = None,
        name: str | None = None,
        limit: int = 50,
        since: float | None = None,
        tag: str | None = None,
    ) -> list[CompletedJob]:
        floor = float("-inf") if since is None else since
        needle = None if tag is None else tag_needle(tag)
        rows = await self._fetch("history_recent", queue, name, floor, max(limit, 0), needle)
        return [_completed(row) for row in rows]

    async def history_counts(self) -> dict[str, int]:
        return {str(q): int(n) for q, n in await self._fetch("history_counts")}

    async def history_trim(self, keep: int) -> int:
        queues = [str(row[0]) for row in await self._fetch("history_queues")]
        return sum([await self._execute("history_trim", q, keep) for q in queues])

    async def history_prune(self, before: float, *, monitored_before: float | None = None) -> int:
        spared = before if monitored_before is None else monitored_before
        return await self._execute("history_prune", float(before), float(spared))

    async def tag_monitor(self, tag: str, monitored: bool) -> bool:
        if monitored:
            return await self._execute("tag_monitor", tag) > 0
        return await self._execute("tag_unmonitor", tag) > 0

    async def tags_monitored(self) -> list[str]:
        return [str(row[0]) for row in await self._fetch("tags_monitored")]


def _columns(records: Sequence[CompletedJob]) -> list[list[Any]]:
    """``records`` as one list per column, the arrays the statements unnest."""
    if not records:
        return [[] for _ in CompletedJob._fields]
    return [list(column) for column in zip(*records, strict=True)]


_NO_RECORD = CompletedJob(*(None for _ in CompletedJob._fields))  # type: ignore[arg-type]
"""The place of a reservation without a record (a job that did not run) in ``_aligned``."""

_PER_RECORD = tuple(CompletedJob._fields.index(f) for f in ("wait_s", "runtime_s", "finished_at"))
"""Columns sent as one value per reservation: they differ from job to job."""
_SHARED = tuple(
    CompletedJob._fields.index(f)
    for f in ("queue", "name", "attempts", "worker", "payload", "tags", "monitored")
)
"""Columns sent once when the whole flush shares the value, else one per reservation."""


def _aligned(acked: Sequence[CompletedJob | None]) -> list[Any]:
    """The record parameters of ``ack_recording`` for ``acked``, one per reservation
    (None: a job without a record), in the statement's order."""
    rows = [_NO_RECORD if c is None else c for c in acked]
    columns = list(zip(*rows, strict=True))
    present = [c for c in acked if c is not None]
    params: list[Any] = [list(columns[i]) for i in _PER_RECORD]
    for i in _SHARED:
        values = {c[i] for c in present}
        if len(values) <= 1:
            params += [next(iter(values), None), None]
        else:
            params += [None, list(columns[i])]
    return params


def _completed(row: Any) -> CompletedJob:
    return CompletedJob(
        id=row[0],
        queue=row[1],
        name=row[2],
        attempts=int(row[3]),
        worker=row[4],
        wait_s=float(row[5]),
        runtime_s=float(row[6]),
        finished_at=float(row[7]),
        payload=row[8],
        tags=row[9],
        monitored=bool(row[10]),
    )
