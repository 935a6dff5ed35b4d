"""The SQLite driver's completed-job history, in ``gello_history``: one row per ack
flush (per queue, worker and monitored mark) holding its records as JSON, written in the ack's
transaction (see ``SqliteDriver.ack_recording``), trimmed by count now and then."""

from __future__ import annotations

import heapq
import sqlite3
import time
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from gello_queue.core.tags import tag_needle
from gello_queue.drivers.common import HISTORY_TRIM_EVERY, pick_recent
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
        rows = _flush_rows(completed)
        if not rows:
            return
        tx.executemany(_RECORD, rows)
        self._history_writes += 1
        if keep > 0 and self._history_writes % HISTORY_TRIM_EVERY == 1:
            for queue in {row[0] for row in rows}:
                tx.execute(Q["history_trim_rows"], (queue, keep))

    async def recent(
        self,
        *,
        queue: str | None = None,
        name: str | None = None,
        limit: int = 50,
        since: float | None = None,
        tag: str | None = None,
    ) -> list[CompletedJob]:
        if limit <= 0:
            return []
        floor = float("-inf") if since is None else since
        needle = None if tag is None else tag_needle(tag)
        # Strings a matching row's JSON text must hold: most rows are passed unparsed.
        wanted = [orjson.dumps(v).decode() for v in (name,) if v is not None]
        wanted += [orjson.dumps(needle).decode()[1:-1] for _ in (needle,) if needle is not None]
        best: list[tuple[float, str, CompletedJob]] = []  # a min-heap of the newest found
        cursor = self.db.execute(Q["history_rows"], (queue, floor))
        try:
            for row in cursor:
                # Rows come newest record first: once ``limit`` are found, a row whose
                # newest is older than all of them holds nothing newer, nor do the rest.
                if len(best) >= limit and float(row[3]) < best[0][0]:
                    break
                if not all(w in str(row[4]) for w in wanted):
                    continue
                held = _row_records(row)  # filtered by the rule every driver's recent keeps
                for job in pick_recent(held, name=name, limit=len(held), since=since, tag=tag):
                    entry = (job.finished_at, job.id, job)
                    if len(best) < limit:
                        heapq.heappush(best, entry)
                    elif entry[:2] > best[0][:2]:
                        heapq.heapreplace(best, entry)
        finally:
            cursor.close()  # a cursor left open would hold a read snapshot of the file
        return [job for *_, job in sorted(best, key=lambda e: e[:2], reverse=True)]

    async def history_counts(self) -> dict[str, int]:
        return {str(q): int(n) for q, n in self.db.execute(Q["history_counts"]).fetchall()}

    async def history_trim(self, keep: int) -> int:
        """Trim each queue to its newest ``keep`` records exactly (the monitored spared)."""
        queues = [str(q) for (q,) in self.db.execute(Q["history_queues"]).fetchall()]
        limits = {q: self._kept_since(q, keep) for q in queues}
        with self._write() as tx:
            return sum(
                _drop_older(tx, queue, False, at) for queue, at in limits.items() if at is not None
            )

    def _kept_since(self, queue: str, keep: int) -> float | None:
        """When the ``keep``-th newest record of ``queue`` finished (infinity when
        ``keep`` is 0: every record goes), or None when it holds fewer: the rows are read
        newest first, as far back as one can hold a newer record, and only their finish
        times are looked at."""
        if keep <= 0:
            return float("inf")
        newest: list[float] = []  # a min-heap of the newest finish times found
        cursor = self.db.execute(Q["history_rows"], (queue, float("-inf")))
        try:
            for row in cursor:
                if len(newest) >= keep and float(row[3]) < newest[0]:
                    break
                for at in _finish_times(row[4]):
                    if len(newest) < keep:
                        heapq.heappush(newest, at)
                    elif at > newest[0]:
                        heapq.heapreplace(newest, at)
        finally:
            cursor.close()
        return newest[0] if len(newest) >= keep else None

    async def history_prune(self, before: float, *, monitored_before: float | None = None) -> int:
        spared = before if monitored_before is None else monitored_before
        with self._write() as tx:
            return _drop_older(tx, None, False, before) + _drop_older(tx, None, True, spared)

    async def tag_monitor(self, tag: str, monitored: bool) -> bool:
        with self._write() as tx:
            if monitored:
                return tx.execute(Q["tag_monitor"], (tag, time.time())).rowcount > 0
            return tx.execute(Q["tag_unmonitor"], (tag,)).rowcount > 0

    async def tags_monitored(self) -> list[str]:
        return [str(t) for (t,) in self.db.execute(Q["tags_monitored"]).fetchall()]


def _flush_rows(completed: Iterable[CompletedJob]) -> list[tuple[object, ...]]:
    """The ``history_record`` rows of one flush: its records grouped by queue, worker and
    monitored mark, each group one JSON array (the layout of migration 10).

    Every byte counts: a commit writes each page it touched whole, and the fewer rows a
    page holds, the more often a commit starts a new one and rewrites its parent too."""
    groups: dict[tuple[str, str, bool], list[CompletedJob]] = {}
    for c in completed:
        groups.setdefault((c.queue, c.worker, c.monitored), []).append(c)
    rows: list[tuple[object, ...]] = []
    for (queue, worker, monitored), group in groups.items():
        finished = [c.finished_at for c in group]
        records = orjson.dumps([_record(c) for c in group]).decode()
        rows.append(
            (queue, worker, int(monitored), len(group), min(finished), max(finished), records)
        )
    return rows


def _record(c: CompletedJob) -> tuple[object, ...]:
    """One record's element of a row's JSON array, in migration 10's order."""
    wait_s, runtime_s = round(c.wait_s, 6), round(c.runtime_s, 6)
    return (c.id, c.name, c.attempts, wait_s, runtime_s, c.finished_at, c.payload, c.tags)


def _drop_older(tx: sqlite3.Connection, queue: str | None, monitored: bool, before: float) -> int:
    """Delete the records of ``queue`` (every queue when None) with the ``monitored`` mark
    that finished before ``before``: whole rows, and the older part of a row that
    straddles it. Return how many records went."""
    params = (queue, int(monitored), before)
    dropped = sum(int(jobs) for (jobs,) in tx.execute(Q["history_drop_rows"], params))
    held = dict(tx.execute(Q["history_straddling"], params).fetchall())
    split = tx.execute(Q["history_split_rows"], params).fetchall()
    return dropped + sum(int(held[row]) - int(jobs) for row, jobs in split)


def _finish_times(records: object) -> list[float]:
    """The finish times of a row's records, those that read (see ``_row_records``)."""
    try:
        elements = orjson.loads(records)  # type: ignore[arg-type]
    except (orjson.JSONDecodeError, TypeError):
        return []
    return [
        float(e[5])
        for e in (elements if isinstance(elements, list) else ())
        if isinstance(e, list) and len(e) == 8 and isinstance(e[5], int | float)
    ]


def _row_records(row: Sequence[Any]) -> list[CompletedJob]:
    """The records of one ``history_rows`` row; none when its JSON is not a list of
    records (a row written by hand), and a record that does not read is skipped."""
    queue, worker, monitored, _, records = row
    try:
        elements = orjson.loads(records)
    except (orjson.JSONDecodeError, TypeError):
        return []
    jobs: list[CompletedJob] = []
    for element in elements if isinstance(elements, list) else ():
        try:
            id_, name, attempts, wait_s, runtime_s, finished_at, payload, tags = element
            jobs.append(
                CompletedJob(
                    id=str(id_),
                    queue=str(queue),
                    name=str(name),
                    attempts=int(attempts),
                    worker=str(worker),
                    wait_s=float(wait_s),
                    runtime_s=float(runtime_s),
                    finished_at=float(finished_at),
                    payload=None if payload is None else str(payload),
                    tags=None if tags is None else str(tags),
                    monitored=bool(monitored),
                )
            )
        except (TypeError, ValueError):
            continue
    return jobs
