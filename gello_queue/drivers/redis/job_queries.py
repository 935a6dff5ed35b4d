"""Pending, scheduled and running jobs searched, counted, cancelled and promoted by a
filter on Redis (the ``JobQueries`` port).

Each queue's zsets are walked by score from a cursor (``jobs_query.lua``, one call per
batch, in the queue's slot), never from their start: a page, a count or a bulk step costs
what it reads. Only the queue has an index; ``name:``, free text and ages are checked
against each job's hash, so those walks stop at a time budget and say so. Queues are
walked one after the other in name order; the cursor names the queue, the zset (segment),
the score and the id it stopped at.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from gello_queue.core.errors import ConfigurationError
from gello_queue.core.failed_query import FailedQuery, FailedStep, FailedTally
from gello_queue.core.job_query import CANCELLABLE_STATES, TEXT_BUDGET_S, JobPage, selects_none
from gello_queue.core.states import JobState
from gello_queue.core.tags import tag_needle
from gello_queue.drivers.redis.link import Link
from gello_queue.drivers.redis.queues import _record
from gello_queue.drivers.redis.scripts import run
from gello_queue.ports import JobRecord

COUNT_BUDGET_S = 1.0
"""How long a count of a filter without an index reads before it answers a lower bound."""
STEP_BUDGET_S = 1.0
"""How long one bulk step reads at most (a step that took none still moves on)."""
CALL_MS = 50
"""How long one script call of a walk reads at most."""


@dataclass(frozen=True, slots=True)
class _At:
    """Where a walk stands: a queue, a segment of its zsets, a score and an id."""

    queue: str
    segment: int = 1
    score: str = ""
    job_id: str = ""

    def text(self) -> str:
        return json.dumps([self.queue, self.segment, self.score, self.job_id])

    @classmethod
    def parse(cls, cursor: str) -> _At:
        try:
            queue, segment, score, job_id = json.loads(cursor)
            return cls(str(queue), int(segment), str(score), str(job_id))
        except (ValueError, TypeError) as exc:
            raise ConfigurationError(f"not a Redis job cursor: {cursor[:40]!r}") from exc


@dataclass(slots=True)
class _Walk:
    """What one walk over the queues found."""

    count: int = 0
    rows: list[JobRecord] | None = None
    at: _At | None = None
    """Where to continue; None when every queue was read to its end."""
    complete: bool = True


class JobQueries:
    """The ``JobQueries`` port on the driver's ``Link``."""

    def __init__(self, link: Link) -> None:
        self._link = link

    async def _queues(self, query: FailedQuery, at: _At | None) -> list[str]:
        names = [query.queue] if query.queue is not None else await self._link.known()
        if at is not None:
            names = [q for q in names if q >= at.queue]
        return names

    async def _walk(
        self,
        state: JobState,
        query: FailedQuery,
        mode: str,
        limit: int,
        cursor: str | None,
        budget_s: float,
    ) -> _Walk:
        at = None if cursor is None else _At.parse(cursor)
        out = _Walk(rows=[] if mode == "rows" else None)
        if selects_none(query):
            return out
        deadline = time.monotonic() + budget_s
        script = self._link.scripts["jobs_query"]
        for queue in await self._queues(query, at):
            here = at if at is not None and at.queue == queue else _At(queue)
            k = self._link.keys.of(queue)
            while True:
                # One call holds the server for at most CALL_MS: workers' scripts run
                # between the calls of a long walk.
                left_ms = max(5, min(CALL_MS, int((deadline - time.monotonic()) * 1000)))
                want = max(0, limit - out.count) if mode != "count" else 0
                args = (
                    k.job,
                    k.unique,
                    state.value,
                    mode,
                    want,
                    here.segment,
                    here.score,
                    here.job_id,
                    (query.name or "").lower(),
                    (query.text or "").lower(),
                    "" if query.after is None else repr(float(query.after)),
                    "" if query.before is None else repr(float(query.before)),
                    left_ms,
                    "" if query.tag is None else tag_needle(query.tag),
                )
                keys = (k.ready, k.delayed, k.reserved, k.wake)
                reply: list[Any] = (await run(self._link.redis, [(script, keys, args)]))[0]
                outcome, segment, score, job_id, n, *rows = reply
                out.count += int(n)
                if out.rows is not None:
                    out.rows += [_record(queue, r) for r in rows]
                here = _At(queue, int(segment), str(score), str(job_id))
                if outcome == "more":
                    out.at = here
                    return out
                if outcome == "end":
                    break
                if time.monotonic() >= deadline:  # 'budget': stop here, say where
                    out.at, out.complete = here, False
                    return out
        return out

    async def jobs_search(
        self, state: JobState, query: FailedQuery, *, limit: int = 50, cursor: str | None = None
    ) -> JobPage:
        found = await self._walk(state, query, "rows", limit, cursor, TEXT_BUDGET_S)
        nxt = None if found.at is None else found.at.text()
        return JobPage(found.rows or [], nxt, found.complete)

    async def jobs_tally(self, state: JobState, query: FailedQuery) -> FailedTally:
        found = await self._walk(state, query, "count", 0, None, COUNT_BUDGET_S)
        return FailedTally(found.count, found.complete)

    async def _step(
        self, state: JobState, query: FailedQuery, mode: str, limit: int, cursor: str | None
    ) -> FailedStep:
        found = await self._walk(state, query, mode, limit, cursor, STEP_BUDGET_S)
        return FailedStep(found.count, None if found.at is None else found.at.text())

    async def jobs_cancel_step(
        self, state: JobState, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        if state not in CANCELLABLE_STATES:
            return FailedStep(0, None)
        return await self._step(state, query, "cancel", limit, cursor)

    async def jobs_promote_step(
        self, query: FailedQuery, *, limit: int = 1000, cursor: str | None = None
    ) -> FailedStep:
        return await self._step(JobState.SCHEDULED, query, "promote", limit, cursor)
