"""Unique jobs on brokers: their keys are claimed in the database store.

A broker cannot look into a queue, so a unique job's key is held by a *claim*: a row
in the store's job table, in the private queue ``gello:unique-keys:<queue>``, with the
job's id and key, and the job's envelope as its payload (so ``find`` can show it). It
is scheduled in 2100, so nothing ever reserves it; the store's unique index makes a
claim atomic across processes, and the store's own unique modes decide who wins (as
``core.unique.unique_outcome`` says, for a holder whose claim row never starts):

- "processed": the claim lives until the job completes or fails (released by id);
- "processing": a worker that starts the job releases the claim first (one
  ``cancel``); a job that finds its claim gone before it ever started was cancelled;
- "debounce": the push claims twice in one store call, first a probe as "processed"
  (which names the holder, if any) then the claim as "debounce" (which replaces a
  holder that has not started, the probe itself if it won). A replaced holder is
  *superseded*: its message stays on the broker, so a *marker* row with its id in
  ``gello:superseded:<queue>`` lets counts leave it out.

Every unique message is checked when it comes up: a job whose claim is gone
(superseded, or cancelled) is settled without running. ``unique_for`` is the store's
lock expiry on the claim row.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import EnvelopeError
from gello_queue.core.states import JobState
from gello_queue.core.unique import UniqueOutcome, unique_outcome
from gello_queue.drivers.broker_buffer import Arrival
from gello_queue.observability import get_logger
from gello_queue.ports import JobRecord, QueueDriver

UNIQUE_QUEUE = "gello:unique-keys"
"""The store's private queues of claims: ``gello:unique-keys:<queue>`` (claims made
before per-queue claim queues sit in this one)."""
SUPERSEDED_QUEUE = "gello:superseded"
"""Markers of superseded messages still on the broker: ``gello:superseded:<queue>``."""
_FAR_FUTURE = 4102444800.0  # 2100-01-01: a claim is never due
MARKER_STALE_S = 3600.0
"""A marker this long past due is swept: its message was dropped while the marker was
being written (a race between two dispatches' store calls)."""
SWEEP_EVERY_S = 600.0


def claim_queue(queue: str) -> str:
    return f"{UNIQUE_QUEUE}:{queue}"


def marker_queue(queue: str) -> str:
    return f"{SUPERSEDED_QUEUE}:{queue}"


def is_claim(store_queue: str) -> bool:
    return store_queue == UNIQUE_QUEUE or store_queue.startswith(UNIQUE_QUEUE + ":")


def is_private(store_queue: str) -> bool:
    """A store queue the brokers keep for themselves (claims, markers)."""
    return is_claim(store_queue) or store_queue.startswith(SUPERSEDED_QUEUE + ":")


def unique_mode(env: Envelope) -> str | None:
    """``env``'s unique mode, or ``None`` without a unique key."""
    if env.unique_key is None:
        return None
    return env.unique_mode or "processed"


def _may_supersede(mode: str | None) -> bool:
    """Whether a claim in ``mode`` can replace the claim of a waiting holder.

    The store decides each claim (``core.unique.unique_outcome``), and a claim row never
    starts (it is never due): what the store does to a holder that has not started is
    what the claim does. A started holder of such a mode is taken from, its claim
    replaced in the same way, so the probe also names it (its marker goes when it ends).
    """
    return (
        unique_outcome(mode, holder_started=False, holder_expired=False) is UniqueOutcome.SUPERSEDE
    )


def claim_envelope(env: Envelope, mode: str | None = None, *, probe: bool = False) -> Envelope:
    """The row that holds ``env``'s unique key in the store (in ``mode``, by default
    the job's own). A probe has an id of its own: stores report a push's holders by id."""
    return Envelope(
        id=f"{env.id}:probe" if probe else env.id,
        name=env.name,
        queue=claim_queue(env.queue),
        payload={"job": env.to_dict()},
        max_attempts=1,
        available_at=_FAR_FUTURE,
        created_at=env.created_at,
        unique_key=env.unique_key,
        unique_mode=env.unique_mode if mode is None else mode,
        unique_for=env.unique_for,
    )


def marker_envelope(superseded_id: str, by: Envelope) -> Envelope:
    """The row saying ``superseded_id``'s message is on the broker but must not run.

    It is due when the job that replaced it is (the superseded one was due no later),
    and counts leave out only markers not yet due: a worker drops a superseded message
    soon after it is due, and its drop deletes the marker.
    """
    return Envelope(
        id=superseded_id,
        name="gello:superseded",
        queue=marker_queue(by.queue),
        payload={"by": by.id},
        max_attempts=1,
        available_at=by.available_at,
        created_at=by.created_at,
    )


@dataclass(slots=True)
class Claimed:
    """What claiming the keys of one push found."""

    holders: dict[str, str] = field(default_factory=dict)
    """Job id -> the id of the job holding its key (itself when it won)."""
    superseded: set[str] = field(default_factory=set)
    """Jobs of this very push replaced by a later one: not to be sent at all."""

    def sends(self, env: Envelope) -> bool:
        """Whether ``env`` is to be sent to the broker."""
        return self.holders.get(env.id, env.id) == env.id and env.id not in self.superseded


class ClaimStore:
    """Unique-key claims in ``store``, for a broker driver (mixed into ``StoreBacked``)."""

    store: QueueDriver
    _swept_at: float = 0.0

    async def claim_unique(self, envelopes: Sequence[Envelope]) -> Claimed:
        """Claim the unique keys of ``envelopes`` (debounce replaces waiting holders)."""
        claims: list[Envelope] = []
        probes: dict[int, Envelope] = {}
        for env in envelopes:
            if env.unique_key is None:
                continue
            if _may_supersede(env.unique_mode):
                # The "processed" probe names the holder; the claim right after it, in
                # the same store call, replaces that holder if it has not started.
                probes[len(claims)] = env
                claims.append(claim_envelope(env, "processed", probe=True))
            claims.append(claim_envelope(env))
        found = Claimed()
        if not claims:
            return found
        holders = await self.store.push(claims)
        found.holders = {
            c.id: h for i, (c, h) in enumerate(zip(claims, holders, strict=True)) if i not in probes
        }
        pushed = {e.id for e in envelopes}
        markers = []
        for i, env in probes.items():
            replaced = holders[i]
            if replaced in (claims[i].id, env.id):
                continue  # the probe won (the key was free), or this job pushed again
            if replaced in pushed:
                found.superseded.add(replaced)  # never sent: no message to leave out
            else:
                markers.append(marker_envelope(replaced, env))
        if markers:
            await self.store.push(markers)
        return found

    async def release_unique(self, job_ids: Sequence[str]) -> None:
        """Free the keys (or delete the markers) of ``job_ids``: completed, failed,
        given up or dropped."""
        await asyncio.gather(*(self.store.cancel(job_id) for job_id in job_ids))

    async def end_claims(self, jobs: Sequence[tuple[str, str | None]]) -> None:
        """Free the claims (or markers) of jobs that ended (completed, failed, given up or
        dropped), given as (id, unique mode); until-processing claims went at start."""
        await self.release_unique([i for i, mode in jobs if mode not in (None, "processing")])

    async def claims_held(self, arrivals: Sequence[Arrival]) -> list[bool]:
        """Whether each arriving job may run: unique ones must still hold their claim
        (an until-processing claim is released here, as the job starts)."""

        async def runs(arrival: Arrival) -> bool:
            if arrival.unique is None:
                return True
            if arrival.unique == "processing":
                # Started before: its claim went then, and a new job may hold the key.
                return await self.store.cancel(arrival.id) or arrival.started
            record = await self.store.find(arrival.id)
            return record is not None and is_claim(record.queue)

        if not any(a.unique for a in arrivals):
            return [True] * len(arrivals)
        verdicts = list(await asyncio.gather(*(runs(a) for a in arrivals)))
        for arrival, ok in zip(arrivals, verdicts, strict=True):
            if not ok:
                get_logger().info(
                    "skipped",
                    id=arrival.id,
                    queue=arrival.queue,
                    reason="its unique claim is gone (superseded or cancelled)",
                )
        return verdicts

    async def find_claimed(self, job_id: str) -> JobRecord | None:
        """A waiting unique job, from its claim (its state from its due time: a job
        another process runs shows as pending)."""
        record = await self.store.find(job_id)
        if record is None or not is_claim(record.queue):
            return None
        try:
            env = Envelope.from_dict(Envelope.decode(record.body).payload["job"])
        except (EnvelopeError, KeyError):
            return None  # a claim from before claims kept their job
        now = time.time()
        return JobRecord(
            id=env.id,
            queue=env.queue,
            state=JobState.SCHEDULED if env.available_at > now else JobState.PENDING,
            attempts=env.attempts,
            priority=env.priority,
            available_at=env.available_at,
            created_at=env.created_at,
            body=env.encode().decode(),
        )

    async def cancel_claimed(self, job_id: str) -> bool | None:
        """Cancel a waiting unique job by deleting its claim (its message is dropped
        when it comes up); ``None`` when ``job_id`` holds no claim."""
        record = await self.store.find(job_id)
        if record is None or not is_claim(record.queue):
            return None
        return await self.store.cancel(job_id)

    async def sweep_markers(self) -> int:
        """Delete markers long past due (every ``SWEEP_EVERY_S`` at most): their
        message is gone."""
        now = time.time()
        if now - self._swept_at < SWEEP_EVERY_S:
            return 0
        self._swept_at = now
        swept = 0
        for name, c in (await self.store.counts()).items():
            if not name.startswith(SUPERSEDED_QUEUE + ":") or not c.pending:
                continue
            for record in await self.store.jobs(name, JobState.PENDING, limit=500):
                if record.available_at < now - MARKER_STALE_S:
                    swept += await self.store.cancel(record.id)
        return swept
