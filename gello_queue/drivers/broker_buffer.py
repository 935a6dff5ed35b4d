"""Taking received broker messages in the worker's order: what RabbitMQ and SQS share.

Both brokers put what they receive into buffers, one per *lane* (a RabbitMQ work queue;
an SQS queue, one per priority level when asked for), and ``reserve`` takes from them
in the worker's strict order. Each message is read into an ``Arrival`` first, then:

- its gello headers unreadable (a foreign or altered message): to the failed store,
  with the header named;
- not yet due: sent on to wait (never run early);
- past its last attempt: its worker died running it, so it goes to the failed store;
- a unique job that no longer holds its claim (superseded by a debounce, or
  cancelled): settled without running;
- otherwise leased to the worker.

A driver supplies the broker-specific steps as the abstract methods below.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from gello_queue.core.envelope import Envelope
from gello_queue.core.errors import EnvelopeError
from gello_queue.core.rescue import rescue_fails
from gello_queue.ports import Reservation

L = TypeVar("L", bound=Hashable)
"""A lane: where a buffered message came from."""
M = TypeVar("M")
"""A buffered message, as the broker's client gave it."""

MAX_TAKE_ROUNDS = 100
"""Rounds one ``take`` makes at most when messages it took were not run (so a long run
of superseded messages cannot hold a reservation call forever)."""


UNIQUE_MODES = ("processed", "processing", "debounce")


def ms(epoch_s: float) -> int:
    """Epoch milliseconds, rounded up (so a job is never due early)."""
    return math.ceil(epoch_s * 1000)


def job_headers(
    env: Envelope,
    *,
    attempts: int,
    at: float | None = None,
    unique: str | None = None,
    started: bool = False,
) -> dict[str, object]:
    """The headers (RabbitMQ) or message attributes (SQS) a job travels with.

    ``gello-attempts`` are the attempts used before this message was sent; ``gello-at``
    is when it is due (``at``, else the envelope's); ``gello-unique`` its unique mode;
    ``gello-started`` marks an until-processing job that started before (its claim
    is gone, so a missing claim does not stop it).
    """
    headers: dict[str, object] = {
        "gello-id": env.id,
        "gello-at": ms(env.available_at if at is None else at),
        "gello-attempts": attempts,
        "gello-max": env.max_attempts,
        "gello-created": ms(env.created_at),
    }
    if unique is not None:
        headers["gello-unique"] = unique
    if started:
        headers["gello-started"] = 1
    return headers


def header_int(headers: Mapping[str, Any], name: str) -> int | None:
    """The integer header ``name`` (an int, or its digits as RabbitMQ bytes or SQS text),
    ``None`` when absent or empty.

    Raises:
        EnvelopeError: the value is something else; the message names the header.
    """
    value = headers.get(name)
    if value is None or value == "" or value == b"":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str | bytes):
        try:
            return int(value)
        except ValueError:
            pass
    raise EnvelopeError(
        f"message header {name} is {value!r:.60}, not an integer: the message was not sent "
        "by gello or was altered; fix its producer, then retry it from the failed store"
    )


def read_unique(headers: dict[str, Any]) -> str | None:
    """The unique mode in ``headers`` (messages sent before modes say ``1``)."""
    value = headers.get("gello-unique")
    if not value or value == "0":
        return None
    text = value.decode() if isinstance(value, bytes) else str(value)
    return text if text in UNIQUE_MODES else "processed"


@dataclass(slots=True)
class Arrival:
    """One buffered message, read the same way on both brokers."""

    id: str
    queue: str
    """The gello queue (a lane may be one priority level of it)."""
    at: float
    """When it is due (epoch seconds)."""
    attempts: int
    """Attempts if it runs now, counting this delivery."""
    max_attempts: int | None
    unique: str | None = None
    """Its unique mode ("processed", "processing", "debounce"), if it has a key."""
    started: bool = False
    """It was delivered due before: an until-processing claim is already released."""
    meta: dict[str, Any] = field(default_factory=dict)
    """The message's gello headers or attributes, as read."""


def read_arrival(job_id: str, queue: str, headers: dict[str, Any], *, used: int) -> Arrival:
    """A message's gello headers read into an ``Arrival``; ``used`` is the attempts the
    broker counted before this delivery (redeliveries, earlier receives).

    Raises:
        EnvelopeError: a gello header cannot be read (see ``header_int``).
    """
    attempts = (header_int(headers, "gello-attempts") or 0) + used + 1
    max_attempts = header_int(headers, "gello-max")
    header_int(headers, "gello-created")  # read when leased or found: refused here
    return Arrival(
        id=job_id,
        queue=queue,
        at=(header_int(headers, "gello-at") or 0) / 1000,
        attempts=attempts,
        max_attempts=max_attempts,
        unique=read_unique(headers),
        started=bool(headers.get("gello-started")) or attempts > 1,
        meta=headers,
    )


class BrokerBuffer(ABC, Generic[L, M]):
    """The shared ``take``; drivers implement how a message is read and settled."""

    buffers: dict[L, deque[M]]

    @abstractmethod
    def arrival(self, lane: L, item: M, now: float) -> Arrival | None:
        """Read ``item``; ``None`` when it is stale (the broker shows it again itself).

        Raises:
            EnvelopeError: a gello header cannot be read (see ``header_int``).
        """

    @abstractmethod
    async def unreadable(self, lane: L, item: M, reason: str) -> None:
        """Fail a message whose headers ``arrival`` could not read, with ``reason``."""

    @abstractmethod
    async def send_on(self, lane: L, item: M, arrival: Arrival) -> None:
        """Make an early message wait until it is due, never losing it."""

    @abstractmethod
    async def lost(self, lane: L, item: M, arrival: Arrival) -> None:
        """Fail a message delivered after its last attempt (its worker died)."""

    @abstractmethod
    async def settle_unrun(self, lane: L, item: M, arrival: Arrival) -> None:
        """Remove a message whose job must not run (its unique claim is gone)."""

    @abstractmethod
    def lease(
        self, lane: L, item: M, arrival: Arrival, lease_s: float, worker_id: str, now: float
    ) -> Reservation:
        """Hold ``item`` for a worker and return its reservation."""

    async def claims_held(self, arrivals: Sequence[Arrival]) -> list[bool]:
        """Whether each unique job may run (the store-backed drivers check claims)."""
        return [True] * len(arrivals)

    async def take(
        self, lanes: Sequence[L], limit: int, *, lease_s: float, worker_id: str
    ) -> list[Reservation]:
        """Reserve up to ``limit`` buffered messages, lanes in order."""
        out: list[Reservation] = []
        for _ in range(MAX_TAKE_ROUNDS):
            now = time.time()
            due: list[tuple[L, M, Arrival]] = []
            early: list[tuple[L, M, Arrival]] = []
            dead: list[tuple[L, M, Arrival]] = []
            unreadable: list[tuple[L, M, str]] = []
            for lane in lanes:
                buffer = self.buffers.get(lane)
                while buffer and len(out) + len(due) < limit:
                    item = buffer.popleft()
                    try:
                        got = self.arrival(lane, item, now)
                    except EnvelopeError as exc:
                        # Out of the buffer already: failed below, never raised past the
                        # messages popped with it.
                        unreadable.append((lane, item, str(exc)))
                        continue
                    if got is None:
                        continue
                    if got.at > now:
                        early.append((lane, item, got))
                    elif rescue_fails(got.attempts - 1, got.max_attempts):
                        # Redelivered after its last attempt: that worker never settled it.
                        dead.append((lane, item, got))
                    else:
                        due.append((lane, item, got))
            for lane, item, got in early:
                await self.send_on(lane, item, got)
            for lane, item, got in dead:
                await self.lost(lane, item, got)
            for lane, item, reason in unreadable:
                await self.unreadable(lane, item, reason)
            if not due:
                break
            verdicts = await self.claims_held([got for _, _, got in due])
            # Leased from now, after the store answered: a slow store must not hand the
            # worker a lease already lapsed (the broker's own bound, if any, still holds).
            leased_at = time.time()
            for (lane, item, got), runs in zip(due, verdicts, strict=True):
                if runs:
                    out.append(self.lease(lane, item, got, lease_s, worker_id, leased_at))
                else:
                    await self.settle_unrun(lane, item, got)
            if all(verdicts):
                break  # nothing was set aside: the buffers hold no more for this call
        return out
