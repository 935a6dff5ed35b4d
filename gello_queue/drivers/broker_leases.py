"""Leases on broker messages a worker holds: what RabbitMQ and SQS share.

A broker keeps a message a worker took until the worker settles it; the driver keeps,
for each such message, a *held* record: the job it carries, its attempts, its local
lease and the token that proves a reservation still owns it. Every rule about held
messages lives here, once:

- settling (ack, release, fail) pops the record first, so a token settles once, and
  refuses one the broker may have handed to another consumer meanwhile;
- a failed job is stored first, then removed from the broker (a crash in between
  leaves a duplicate in the failed store, never a lost job), and frees its unique key;
- a message whose headers cannot be read, or delivered after its last attempt (its
  worker died), goes to the failed store the same way;
- ``rescue`` settles this process's own leases that lapsed unrenewed (a stalled event
  loop): to the failed store after the last attempt, else back to the broker;
- ``find`` and ``holds`` see the jobs this process holds (a broker cannot look inside
  a queue).

A driver supplies the broker's own steps as the hooks below: how a message is
acknowledged, sent again, handed back or kept longer.
"""

from __future__ import annotations

import time
from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic

import orjson

from gello_queue.core.envelope import Envelope
from gello_queue.core.rescue import LOST_WORKER_EXCEPTION, LOST_WORKER_REASON, rescue_fails
from gello_queue.core.states import JobState
from gello_queue.drivers.broker_buffer import Arrival, BrokerBuffer, L, M, header_int, read_unique
from gello_queue.drivers.broker_claims import ClaimStore
from gello_queue.drivers.common import text_of
from gello_queue.drivers.composite import store_failed
from gello_queue.ports import Failure, JobRecord, RescueResult, Reservation


def body_field(body: bytes | str, name: str) -> Any:
    """``name`` from an envelope body, or ``None`` (not JSON, not an object)."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return data.get(name) if isinstance(data, dict) else None


def body_max(body: bytes | str) -> int | None:
    """``max_attempts`` from an envelope body, or ``None`` when it has none readable."""
    value = body_field(body, "max_attempts")
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _body_created(body: bytes | str) -> float:
    try:
        return float(body_field(body, "created_at") or 0.0)
    except (TypeError, ValueError):
        return 0.0


@dataclass(slots=True)
class Held(Generic[L, M]):
    """A message this process holds for a worker (or is failing into the store)."""

    lane: L
    item: M
    """The message as the broker's client gave it."""
    token: str
    """The reservation's token: unique per delivery or receive."""
    id: str
    queue: str
    attempts: int
    max_attempts: int | None
    max_known: bool
    """``max_attempts`` was read (else it is in the body, read when needed)."""
    unique: str | None
    """The unique mode, if the job has a key."""
    body: bytes | str
    available_at: float
    created_at: float | None
    """From ``gello-created``; else read from the body when asked."""
    expires: float
    """The local lease (rescued by this process when it lapses unrenewed)."""
    reserved_by: str

    @property
    def claim_released(self) -> bool:
        """An until-processing job released its claim as it started: sent again, it
        must say so (a missing claim does not stop it then)."""
        return self.unique == "processing"


class BrokerLeases(ClaimStore, BrokerBuffer[L, M], Generic[L, M]):
    """Held messages of a store-backed broker driver; see the module docstring."""

    _held: dict[str, Held[L, M]]

    # -- the broker's steps ----------------------------------------------------------
    @abstractmethod
    def _token(self, item: M) -> str:
        """The token of a reservation of ``item``."""

    @abstractmethod
    def _body(self, item: M) -> bytes | str:
        """``item``'s body, undecoded."""

    @abstractmethod
    def _label(self, lane: L, item: M) -> tuple[str, str, dict[str, Any]]:
        """What a message with unreadable headers still tells: its job id, its gello
        queue and its raw headers."""

    def _lease_until(self, item: M, expires: float) -> float:
        """When a lease of ``item`` asked to end at ``expires`` ends."""
        return expires

    def _current(self, held: Held[L, M]) -> bool:
        """Whether ``held`` came from the broker session this driver has now."""
        return True

    @abstractmethod
    def _settleable(self, held: Held[L, M], now: float) -> bool:
        """Whether ``held`` can still be settled (no other consumer may have it)."""

    @abstractmethod
    async def _ack_many(self, helds: Sequence[Held[L, M]]) -> None:
        """Remove completed messages from the broker."""

    async def _ack_one(self, held: Held[L, M]) -> None:
        """Remove one settled message (failed into the store) from the broker."""
        await self._ack_many([held])

    @abstractmethod
    async def _send_again(self, held: Held[L, M], envelope: Envelope, delay_s: float) -> None:
        """Release: send ``envelope`` as a new message due in ``delay_s``, then remove
        ``held`` (sent first: a crash in between duplicates, never loses)."""

    @abstractmethod
    async def _renew(self, helds: Sequence[Held[L, M]], lease_s: float, now: float) -> list[str]:
        """Keep ``helds`` for ``lease_s`` more; return the ids of those that were lost."""

    @abstractmethod
    async def _requeue(self, held: Held[L, M]) -> None:
        """Hand a lapsed lease back to the broker (its next holder sees the attempt)."""

    async def now(self) -> float:
        # A broker has no clock to ask: leases are judged by this process's.
        return time.time()

    # -- holding ---------------------------------------------------------------------
    def _hold(
        self, lane: L, item: M, arrival: Arrival, attempts: int, expires: float, worker_id: str
    ) -> Held[L, M]:
        meta = arrival.meta
        return Held(
            lane=lane,
            item=item,
            token=self._token(item),
            id=arrival.id,
            queue=arrival.queue,
            attempts=attempts,
            max_attempts=arrival.max_attempts,
            max_known=arrival.max_attempts is not None or "gello-max" in meta,
            unique=arrival.unique,
            body=self._body(item),
            available_at=arrival.at,
            created_at=(
                (header_int(meta, "gello-created") or 0) / 1000 if "gello-created" in meta else None
            ),
            expires=self._lease_until(item, expires),
            reserved_by=worker_id,
        )

    def lease(
        self, lane: L, item: M, arrival: Arrival, lease_s: float, worker_id: str, now: float
    ) -> Reservation:
        held = self._hold(lane, item, arrival, arrival.attempts, now + lease_s, worker_id)
        self._held[held.token] = held
        return Reservation(held.id, held.queue, held.token, held.attempts, held.body, held.expires)

    async def lost(self, lane: L, item: M, arrival: Arrival) -> None:
        # Its last attempt was delivered and never settled: the worker died running it.
        held = self._hold(lane, item, arrival, arrival.attempts - 1, 0.0, "")
        await self._fail_held(held, Failure(LOST_WORKER_EXCEPTION, LOST_WORKER_REASON))

    async def unreadable(self, lane: L, item: M, reason: str) -> None:
        job_id, queue, headers = self._label(lane, item)
        arrival = Arrival(
            id=job_id,
            queue=queue,
            at=0.0,
            attempts=0,  # never run: its headers were unreadable on every delivery
            max_attempts=None,
            unique=read_unique(headers),
        )
        held = self._hold(lane, item, arrival, 0, 0.0, "")
        await self._fail_held(held, Failure("EnvelopeError", reason))

    # -- settling --------------------------------------------------------------------
    def _settle(self, res: Reservation) -> Held[L, M] | None:
        held = self._held.pop(res.token, None)
        if held is None or not self._settleable(held, time.time()):
            return None
        return held

    async def ack(self, reservations: Sequence[Reservation]) -> list[str]:
        done: list[Held[L, M]] = []
        lost: list[str] = []
        for res in reservations:
            held = self._settle(res)
            if held is None:
                lost.append(res.id)
            else:
                done.append(held)
        if done:
            await self._ack_many(done)
            await self.end_claims([(h.id, h.unique) for h in done])
        return lost

    async def release(self, reservation: Reservation, envelope: Envelope, delay_s: float) -> bool:
        held = self._settle(reservation)
        if held is None:
            return False
        await self._send_again(held, envelope, delay_s)
        return True

    async def fail(self, reservation: Reservation, body: str, failure: Failure) -> bool:
        held = self._settle(reservation)
        if held is None:
            return False
        await self._fail_held(held, failure, body)
        return True

    async def _fail_held(self, held: Held[L, M], failure: Failure, body: str | None = None) -> None:
        self._held.pop(held.token, None)
        await store_failed(  # stored first, then removed from the broker
            self.store,
            job_id=held.id,
            queue=held.queue,
            body=text_of(held.body) if body is None else body,
            failure=failure,
            attempts=held.attempts,
        )
        await self._ack_one(held)
        if held.unique:  # any mode: a job lost before it started still holds its claim
            await self.release_unique([held.id])

    # -- leases ----------------------------------------------------------------------
    async def extend(self, reservations: Sequence[Reservation], lease_s: float) -> list[str]:
        now = time.time()
        lost: list[str] = []
        found: list[Held[L, M]] = []
        for res in reservations:
            held = self._held.get(res.token)
            if held is None:
                lost.append(res.id)
            else:
                found.append(held)
        return lost + await self._renew(found, lease_s, now)

    async def _rescue_held(self) -> RescueResult:
        """Settle this process's leases that lapsed unrenewed (a stalled loop)."""
        result = RescueResult()
        now = time.time()
        for held in [h for h in self._held.values() if h.expires <= now and self._current(h)]:
            if not held.max_known:
                held.max_attempts, held.max_known = body_max(held.body), True
            if held.reserved_by:
                result.held_by[held.id] = held.reserved_by
            if rescue_fails(held.attempts, held.max_attempts):
                await self._fail_held(held, Failure(LOST_WORKER_EXCEPTION, LOST_WORKER_REASON))
                result.failed.append(held.id)
            else:
                self._held.pop(held.token, None)
                await self._requeue(held)
                result.requeued.append(held.id)
        return result

    # -- inspecting ------------------------------------------------------------------
    def _reserved(self, queue: str) -> int:
        """Jobs of ``queue`` this process holds (a broker does not tell others')."""
        return sum(1 for h in self._held.values() if h.queue == queue and self._current(h))

    def holds(self, job_id: str) -> bool:
        return any(h.id == job_id and self._current(h) for h in self._held.values())

    async def find(self, job_id: str) -> JobRecord | None:
        # A broker cannot look inside a queue: jobs this process holds, and waiting
        # unique jobs (from their claim in the store).
        for held in self._held.values():
            if held.id == job_id and self._current(held):
                return JobRecord(
                    id=held.id,
                    queue=held.queue,
                    state=JobState.RESERVED,
                    attempts=held.attempts,
                    priority=0,
                    available_at=held.available_at,
                    created_at=(
                        held.created_at if held.created_at is not None else _body_created(held.body)
                    ),
                    body=text_of(held.body),
                    reserved_by=held.reserved_by,
                    lease_expires_at=held.expires,
                )
        return await self.find_claimed(job_id)
