"""The SQLite driver's completed-job history, in ``gello_completed``: written in the
ack's transaction (see ``SqliteDriver.ack_recording``), trimmed by count now and then."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence

from gello_queue.core.tags import tag_needle
from gello_queue.drivers.common import HISTORY_TRIM_EVERY
from gello_queue.drivers.sqlite.connection import SqliteConnection
from gello_queue.drivers.sqlite.sql import Q
from gello_queue.ports import CompletedJob

_RECORD = Q["history_record"]


class HistoryTable(SqliteConnection):
    """The reading half of ``JobHistory`` and the writing step the ack runs."""

    _history_writes = 0
    """Recording transactions by this driver, counted for the trim."""

    def _keep_completed(
        self, tx: sqlite3.Connection, completed: Iterable[CompletedJob], keep: int
    ) -> None:
        """Insert ``completed`` in ``tx`` and, now and then, trim their queues."""
        rows = list(completed)  # tuples in the table's column order
        if not rows:
            return
        tx.executemany(_RECORD, rows)
        self._history_writes += 1
        if keep > 0 and self._history_writes % HISTORY_TRIM_EVERY == 1:
            for queue in {row[1] for row in rows}:
                tx.execute(Q["history_trim"], (queue, keep))

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
        rows = self.db.execute(Q["history_recent"], (queue, name, floor, max(limit, 0), needle))
        return [_completed(row) for row in rows.fetchall()]

    async def history_counts(self) -> dict[str, int]:
        return {str(q): int(n) for q, n in self.db.execute(Q["history_counts"]).fetchall()}

    async def history_trim(self, keep: int) -> int:
        queues = [str(q) for (q,) in self.db.execute(Q["history_queues"]).fetchall()]
        with self._write() as tx:
            return sum(int(tx.execute(Q["history_trim"], (q, keep)).rowcount) for q in queues)

    async def history_prune(self, before: float, *, monitored_before: float | None = None) -> int:
        spared = before if monitored_before is None else monitored_before
        with self._write() as tx:
            return int(tx.execute(Q["history_prune"], (before, spared)).rowcount)

    async def tag_monitor(self, tag: str, monitored: bool) -> bool:
        with self._write() as tx:
            if monitored:
                return tx.execute(Q["tag_monitor"], (tag, time.time())).rowcount > 0
            return tx.execute(Q["tag_unmonitor"], (tag,)).rowcount > 0

    async def tags_monitored(self) -> list[str]:
        return [str(t) for (t,) in self.db.execute(Q["tags_monitored"]).fetchall()]


def _completed(row: Sequence[object]) -> CompletedJob:
    id_, queue, name, attempts, worker, wait_s, runtime_s, finished_at, payload, tags, watched = row
    return CompletedJob(
        id=str(id_),
        queue=str(queue),
        name=str(name),
        attempts=int(attempts),  # type: ignore[call-overload]
        worker=str(worker),
        wait_s=float(wait_s),  # type: ignore[arg-type]
        runtime_s=float(runtime_s),  # type: ignore[arg-type]
        finished_at=float(finished_at),  # type: ignore[arg-type]
        payload=None if payload is None else str(payload),
        tags=None if tags is None else str(tags),
        monitored=bool(watched),
    )
