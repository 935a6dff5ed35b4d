"""RabbitMQ driver (``amqp://``, ``amqps://``) on aio-pika, with a database store.

Crash safety comes from the broker: a delivery is acknowledged only after its job
completed, was failed into the store, or was released (republished, confirmed, then
acknowledged); a worker that dies leaves its deliveries unacknowledged and RabbitMQ
hands them to another consumer.

Queues (see docs/architecture.md, "RabbitMQ"):

- work queue ``{prefix}{queue}``: a quorum queue. It counts deliveries
  (``x-delivery-count``), so attempts survive a worker that dies mid-job; a job whose
  last attempt killed its worker goes to the failed store on its next delivery.
- delay buckets ``{prefix}{queue}.delayed.{ms}ms``: quorum queues with a queue-wide message TTL
  of 16 ms * 4^k (k = 0..11, up to 18.6 h) that dead-letter into the work queue
  (at-least-once dead-lettering). A delayed job goes to the largest bucket not longer
  than its remaining delay; when it reaches the work queue still early, the worker that
  receives it sends it on to the next bucket (confirmed, then acknowledged). Every
  message in a bucket has the same TTL, so the head always expires first. Buckets are
  declared on first use: at most 12 per work queue.

Attempts are ``gello-attempts`` (a header: attempts before this message was published)
plus the broker's delivery count plus one; a release publishes a new message with the
envelope's attempts (a ``ReleaseJob`` gives its attempt back). Unique jobs, in every
mode, are claimed in the store (see ``broker_claims``). Reservation tokens are the channel's
generation and the delivery tag, so a token from before a reconnect never acknowledges
another delivery. The lease is the broker's consumer acknowledgement timeout
(``consumer_timeout``, 30 minutes by default) while the connection lives; ``extend``
renews the local lease record only, and ``rescue`` returns local deliveries whose lease
expired (a stalled event loop) and nothing else: the broker itself redelivers the
deliveries of a worker whose connection is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import aio_pika
import aiormq
from aiormq.abc import DeliveredMessage
from pamqp import commands as spec

from gello_queue.core.envelope import Envelope, new_id
from gello_queue.core.errors import DriverUnavailableError, EnvelopeError
from gello_queue.drivers.broker_buffer import MAX_TAKE_ROUNDS, Arrival, header_int, read_arrival
from gello_queue.drivers.broker_buffer import ms as epoch_ms
from gello_queue.drivers.broker_claims import claim_queue, marker_queue, unique_mode
from gello_queue.drivers.broker_leases import BrokerLeases, Held, body_max
from gello_queue.drivers.composite import StoreBacked, split_store_url
from gello_queue.drivers.outage import outage_boundary, unavailable
from gello_queue.ports import (
    Capability,
    FailedJob,
    QueueCounts,
    QueueDriver,
    RescueResult,
    Reservation,
)

BUCKETS_MS = tuple(16 * 4**k for k in range(12))
"""Delay bucket TTLs: 16 ms to 18.6 h; longer delays go round the largest again."""
STALE_BUFFER_S = 60.0
"""A delivery buffered this long without being reserved (its queue comes after a busy
one in the worker's order) is handed back, so it never meets the consumer timeout."""
DELIVERY_LAG_S = 0.1
"""How long an empty ``reserve`` waits for a delivery the broker sent after its
get-empty reply (quorum queues do not order the two)."""
LATE_WINDOW_S = 1.0
"""An empty ``reserve`` waits so only for queues this driver published to, or started
consuming, this recently."""
_ERRORS = (aiormq.exceptions.AMQPError, ConnectionError, OSError, asyncio.TimeoutError)
"""What the broker's client raises when the broker, the connection or a channel is gone."""


@dataclass(slots=True)
class _Buffered:
    msg: DeliveredMessage
    gen: int
    since: float


def _tag(msg: DeliveredMessage) -> int:
    tag: Any = msg.delivery.delivery_tag  # type: ignore[union-attr]
    return int(tag)


def _headers(msg: DeliveredMessage) -> dict[str, Any]:
    headers = msg.header.properties.headers
    return dict(headers) if headers else {}


def _message_id(msg: DeliveredMessage, headers: dict[str, Any]) -> str:
    """The job id: ``message_id``, or ``gello-id`` in messages of the previous format."""
    return str(headers.get("gello-id") or msg.header.properties.message_id or new_id())


def rabbit_headers(
    env: Envelope,
    *,
    attempts: int,
    at: float | None = None,
    unique: str | None = None,
    started: bool = False,
) -> dict[str, Any]:
    """The headers a job travels with: only what differs from a plain job due now.

    A header table costs the consumer a pure-Python decode per message, so a job due
    now, never attempted and not unique travels with none. The id is the message's
    ``message_id``; ``gello-max`` is sent only when below 1 (the first delivery can be
    past it), since a redelivery reads it from the body; ``gello-created`` not at all.
    ``gello-at`` (due, epoch ms rounded up) only when in the future, ``gello-attempts``
    (attempts before this message was sent) only when not 0. Messages of the previous
    format carry every header, and are read the same (``arrival``).
    """
    headers: dict[str, Any] = {}
    due = env.available_at if at is None else at
    if due > time.time():
        headers["gello-at"] = epoch_ms(due)
    if attempts:
        headers["gello-attempts"] = attempts
    if env.max_attempts < 1:
        headers["gello-max"] = env.max_attempts
    if unique is not None:
        headers["gello-unique"] = unique
    if started:
        headers["gello-started"] = 1
    return headers


@outage_boundary
class RabbitMQDriver(BrokerLeases[str, _Buffered], StoreBacked):
    """The port on RabbitMQ quorum queues; see the module docstring."""

    name = "rabbitmq"
    capabilities: frozenset[str] = frozenset({Capability.CLEAR, Capability.UNIQUE_MODES})

    def __init__(
        self,
        url: str,
        store: QueueDriver,
        *,
        prefix: str = "gello:",
        default_queue: str = "default",
        connect_timeout_s: float = 10.0,
    ) -> None:
        self.url, _ = split_store_url(url)
        self.store = store
        self.prefix = prefix
        self.connect_timeout_s = connect_timeout_s
        self._conn: Any = None
        self._pub: Any = None
        """Publisher-confirm channel."""
        self._con: Any = None
        """Consumer channel: deliveries, basic.get and acks share its tag space."""
        self._probe: Any = None
        """Channel for passive declares (a missing queue closes the channel)."""
        self._gen = 0
        self._declared: set[str] = set()
        """Broker queues this driver declared (or saw exist) on the current connection."""
        self.created: set[str] = set()
        """Every broker queue name this driver declared, for tests that clean up."""
        self._known: set[str] = {default_queue}
        """gello queue names this process pushed to or consumed from. AMQP cannot list
        queues: inspection sees these, plus the store's (failed, paused, served)."""
        self._consumers: dict[str, str] = {}
        self.buffers: dict[str, deque[_Buffered]] = {}
        self._held: dict[str, Held[str, _Buffered]] = {}
        self._prefetch = 0
        self._open: set[int] = set()
        """Delivery tags of the consumer channel not yet acknowledged or returned."""
        self._open_heap: list[int] = []
        self._arrived = asyncio.Event()
        self._lock = asyncio.Lock()
        self._touched: dict[str, float] = {}
        """Work queue -> when this driver last published to it or started consuming it
        (monotonic): a delivery of that may still be on its way."""

    # -- lifecycle -------------------------------------------------------------------
    async def open(self) -> None:
        await self.store.open()
        await self._connection()

    async def _connection(self) -> Any:
        if self._live():
            return self._conn
        async with self._lock:
            if self._conn is not None and not self._conn.is_closed:
                with contextlib.suppress(Exception):
                    await self._conn.close()
            self._reset()
            conn = await aio_pika.connect(self.url, timeout=self.connect_timeout_s)
            pub = await conn.channel(publisher_confirms=True, on_return_raises=True)
            con = await conn.channel(publisher_confirms=False)
            self._pub = await pub.get_underlay_channel()
            self._con = await con.get_underlay_channel()
            self._conn = conn
            self._gen += 1
            return conn

    def _live(self) -> bool:
        conn, con, pub = self._conn, self._con, self._pub
        return bool(
            conn is not None
            and not conn.is_closed
            and con is not None
            and not con.is_closed
            and pub is not None
            and not pub.is_closed
        )

    def _reset(self) -> None:
        """Forget everything tied to the old connection (its deliveries are requeued)."""
        self._conn = self._pub = self._con = self._probe = None
        self._declared.clear()
        self._consumers.clear()
        self.buffers.clear()
        self._held.clear()
        self._open.clear()
        self._open_heap.clear()
        self._prefetch = 0

    def _outage(self, error: BaseException) -> DriverUnavailableError | None:
        """Applied to every public method by ``outage_boundary``."""
        if isinstance(error, (*_ERRORS, aio_pika.exceptions.AMQPException)):
            return unavailable("RabbitMQ", self.url, error)
        return None

    async def close(self) -> None:
        try:
            if self._conn is not None and not self._conn.is_closed:
                with contextlib.suppress(*_ERRORS):
                    # Stop deliveries first, or what is handed back comes straight back.
                    for tag in self._consumers.values():
                        await self._con.basic_cancel(tag)
                    self._consumers.clear()
                    await self._hand_back_buffered(list(self.buffers))
                with contextlib.suppress(Exception):
                    await self._conn.close()
        finally:
            self._reset()
            await self.store.close()

    async def now(self) -> float:
        return time.time()

    # -- names -----------------------------------------------------------------------
    def work_name(self, queue: str) -> str:
        return f"{self.prefix}{queue}"

    def bucket_name(self, queue: str, ms: int) -> str:
        return f"{self.prefix}{queue}.delayed.{ms}ms"

    async def _declare(self, name: str, arguments: dict[str, Any]) -> None:
        if name in self._declared:
            return
        await self._connection()
        await self._pub.queue_declare(name, durable=True, arguments=arguments)
        self._declared.add(name)
        self.created.add(name)

    async def _declare_work(self, queue: str) -> str:
        name = self.work_name(queue)
        self._known.add(queue)
        await self._declare(name, {"x-queue-type": "quorum"})
        return name

    async def _declare_bucket(self, queue: str, ms: int) -> str:
        await self._declare_work(queue)
        name = self.bucket_name(queue, ms)
        await self._declare(
            name,
            {
                "x-queue-type": "quorum",
                "x-message-ttl": ms,
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": self.work_name(queue),
                "x-dead-letter-strategy": "at-least-once",
                "x-overflow": "reject-publish",
            },
        )
        return name

    # -- producing -------------------------------------------------------------------
    async def push(self, envelopes: Sequence[Envelope]) -> list[str]:
        claimed = await self.claim_unique(envelopes)
        sends = []
        now = time.time()
        for env in envelopes:
            if claimed.sends(env):
                headers = rabbit_headers(env, attempts=env.attempts, unique=unique_mode(env))
                sends.append((env.queue, env.encode(), headers, env.available_at - now, env.id))
        try:
            await self._publish_many(sends)
        except BaseException:
            await self.release_unique([s[4] for s in sends if s[2].get("gello-unique")])
            raise
        return [claimed.holders.get(e.id, e.id) for e in envelopes]

    async def _publish_many(
        self, sends: Sequence[tuple[str, bytes, dict[str, Any], float, str]]
    ) -> None:
        """Publish and wait for every confirm (a returned push is on the broker)."""
        if not sends:
            return
        for queue, _, _, delay, _ in sends:  # declare first, outside the publish burst
            await self._route(queue, delay)
        results = await asyncio.gather(
            *(self._publish(q, body, h, delay, job_id) for q, body, h, delay, job_id in sends),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _route(self, queue: str, delay_s: float) -> str:
        ms = delay_s * 1000
        if ms <= 0:
            return await self._declare_work(queue)
        bucket = max((b for b in BUCKETS_MS if b <= ms), default=BUCKETS_MS[0])
        return await self._declare_bucket(queue, bucket)

    async def _publish(
        self, queue: str, body: bytes, headers: dict[str, Any], delay_s: float, job_id: str
    ) -> None:
        routing_key = await self._route(queue, delay_s)
        if delay_s <= 0:
            self._touched[queue] = time.monotonic()
        props = spec.Basic.Properties(
            delivery_mode=2,
            headers=headers or None,  # no table at all: nothing for the consumer to decode
            message_id=job_id,
            content_type="application/json",
        )
        try:
            await self._pub.basic_publish(
                body, exchange="", routing_key=routing_key, properties=props, mandatory=True
            )
        except aiormq.exceptions.PublishError:
            # The queue was deleted behind our back: declare it again and send once more.
            self._declared.discard(routing_key)
            routing_key = await self._route(queue, delay_s)
            await self._pub.basic_publish(
                body, exchange="", routing_key=routing_key, properties=props, mandatory=True
            )

    # -- consuming -------------------------------------------------------------------
    async def _consume(self, queues: Sequence[str], prefetch: int) -> None:
        await self._connection()
        prefetch = max(prefetch, self._prefetch, 1)
        if prefetch > self._prefetch:
            # Prefetch is fixed per consumer when it starts: raise it and restart consumers.
            await self._con.basic_qos(prefetch_count=prefetch)
            self._prefetch = prefetch
            for queue, tag in list(self._consumers.items()):
                await self._con.basic_cancel(tag)
                del self._consumers[queue]
        for queue in queues:
            if queue in self._consumers:
                continue
            name = await self._declare_work(queue)
            self.buffers.setdefault(queue, deque())
            deliver = self._on_message(queue)
            ok = await self._con.basic_consume(name, deliver, no_ack=False)
            self._consumers[queue] = ok.consumer_tag
            self._touched[queue] = time.monotonic()

    def _on_message(self, queue: str) -> Any:
        buffer = self.buffers[queue]
        gen = self._gen

        # aiormq runs this in a task of its own per delivery; tasks start in the order
        # they were created, and this one appends before it first yields, so the buffer
        # stays in delivery-tag order (which the ``multiple`` acks rely on).
        async def deliver(msg: DeliveredMessage) -> None:
            if gen == self._gen:
                self._opened(_tag(msg))
            buffer.append(_Buffered(msg, gen, time.monotonic()))
            self._arrived.set()

        return deliver

    async def reserve(
        self, queues: Sequence[str], limit: int, *, lease_s: float, worker_id: str
    ) -> list[Reservation]:
        if limit <= 0 or not queues:
            return []
        await self._consume(queues, limit)
        out = await self.take(queues, limit, lease_s=lease_s, worker_id=worker_id)
        waited = False
        for _ in range(MAX_TAKE_ROUNDS):
            if out or self._open:
                # Deliveries we hold give the consumers credit back as they are
                # settled, so more come by themselves (``wait`` wakes on them): a
                # basic.get, a round trip on the reserving path, is only for a
                # worker holding nothing, which may need to know the queues empty.
                break
            # Nothing buffered: ask each queue in order, then allow once for a
            # delivery still on its way to our consumer: an empty answer means empty.
            if not await self._get_one(queues):
                if waited or not await self._late(queues):
                    break
                waited = True
            out = await self.take(queues, limit, lease_s=lease_s, worker_id=worker_id)
        return out

    async def _get_one(self, queues: Sequence[str]) -> bool:
        """``basic.get`` from the first queue that has a message; False if none had."""
        for queue in queues:
            got = await self._con.basic_get(self.work_name(queue), no_ack=False)
            if isinstance(got.delivery, spec.Basic.GetOk):
                self._opened(_tag(got))
                self.buffers[queue].append(_Buffered(got, self._gen, time.monotonic()))
                return True
        return False

    async def _late(self, queues: Sequence[str]) -> bool:
        """Wait up to ``DELIVERY_LAG_S`` for a delivery to one of ``queues``' consumers,
        if this driver just published to one of them or started consuming it.

        A quorum queue may send a message to our consumer after answering our
        ``basic.get`` with get-empty (measured: up to ~30 ms on loopback). Other late
        deliveries wake the worker's next ``wait``.
        """
        since = time.monotonic() - LATE_WINDOW_S
        if not any(self._touched.get(q, since) > since for q in queues):
            return False
        self._arrived.clear()
        if not any(self.buffers.get(q) for q in queues):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), DELIVERY_LAG_S)
        return any(self.buffers.get(q) for q in queues)

    # -- the shared take's steps (see broker_buffer) ---------------------------------
    def arrival(self, lane: str, item: _Buffered, now: float) -> Arrival | None:
        if item.gen != self._gen:
            return None  # from before a reconnect: the broker delivers it again
        props = item.msg.header.properties
        raw = props.headers
        if not raw:  # a job due now, first delivery, never attempted, not unique
            return Arrival(
                id=str(props.message_id or new_id()),
                queue=lane,
                at=0.0,
                attempts=1,
                max_attempts=None,  # at least 1 (else sent as gello-max): not past it
                meta={},
            )
        headers: dict[str, Any] = dict(raw)
        used = header_int(headers, "x-delivery-count") or 0
        got = read_arrival(_message_id(item.msg, headers), lane, headers, used=used)
        if got.max_attempts is None and got.attempts > 1:  # sent only when below 1
            got.max_attempts = body_max(bytes(item.msg.body))
        return got

    async def send_on(self, lane: str, item: _Buffered, arrival: Arrival) -> None:
        await self._forward(lane, item, arrival.meta, arrival.at - time.time())

    async def settle_unrun(self, lane: str, item: _Buffered, arrival: Arrival) -> None:
        await self._ack_tag(_tag(item.msg))
        await self.end_claims([(arrival.id, arrival.unique)])  # a superseded job's marker

    async def _forward(
        self, queue: str, item: _Buffered, headers: dict[str, Any], delay_s: float
    ) -> None:
        """Send a delivery on (to a delay bucket, or back to its queue): publish, confirmed,
        then acknowledge, so it is never lost (a crash in between makes a duplicate)."""
        keep = {k: v for k, v in headers.items() if k.startswith("gello-")}
        with contextlib.suppress(EnvelopeError):  # else sent as it came: failed when taken
            attempts = (header_int(keep, "gello-attempts") or 0) + (
                header_int(headers, "x-delivery-count") or 0
            )
            keep.pop("gello-attempts", None)
            if attempts:
                keep["gello-attempts"] = attempts
        msg = item.msg
        await self._publish(queue, bytes(msg.body), keep, delay_s, _message_id(msg, keep))
        await self._ack_tag(_tag(msg))

    async def _hand_back_buffered(self, queues: Sequence[str], older_than: float = -1) -> None:
        """Return deliveries that were buffered but never reserved, attempts unchanged."""
        limit = time.monotonic() - older_than if older_than >= 0 else None
        for queue in queues:
            buffer = self.buffers.get(queue)
            while buffer and (limit is None or buffer[0].since <= limit):
                item = buffer.popleft()
                if item.gen == self._gen:
                    await self._forward(queue, item, _headers(item.msg), 0.0)

    async def wait(self, queues: Sequence[str], timeout_s: float) -> None:
        await self._consume(queues, self._prefetch or 1)
        self._arrived.clear()
        if any(self.buffers.get(q) for q in queues):
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), timeout_s)

    def _opened(self, tag: int) -> None:
        self._open.add(tag)
        heapq.heappush(self._open_heap, tag)

    async def _ack_tag(self, tag: int) -> None:
        self._open.discard(tag)
        await self._con.basic_ack(tag)

    # -- the held leases' steps (see broker_leases) ----------------------------------
    def _token(self, item: _Buffered) -> str:
        # The channel's generation too: a token from before a reconnect never
        # acknowledges another delivery that has the same tag.
        return f"{item.gen}.{_tag(item.msg)}"

    def _body(self, item: _Buffered) -> bytes:
        return bytes(item.msg.body)

    def _label(self, lane: str, item: _Buffered) -> tuple[str, str, dict[str, Any]]:
        headers = _headers(item.msg)
        return _message_id(item.msg, headers), lane, headers

    def _current(self, held: Held[str, _Buffered]) -> bool:
        return held.item.gen == self._gen

    def _settleable(self, held: Held[str, _Buffered], now: float) -> bool:
        return self._current(held) and self._con is not None and not self._con.is_closed

    async def _ack_many(self, helds: Sequence[Held[str, _Buffered]]) -> None:
        tags = sorted(_tag(h.item.msg) for h in helds)
        self._open.difference_update(tags)
        heap = self._open_heap
        while heap and heap[0] not in self._open:
            heapq.heappop(heap)
        # One "multiple" ack covers every tag below the oldest delivery still open
        # (deliveries arrive in tag order, so none below it is unknown to us).
        below = heap[0] if heap else tags[-1] + 1
        covered = [t for t in tags if t < below]
        if covered:
            await self._con.basic_ack(covered[-1], multiple=True, wait=False)
        for tag in tags[len(covered) :]:
            await self._con.basic_ack(tag, wait=False)

    async def _ack_one(self, held: Held[str, _Buffered]) -> None:
        await self._ack_tag(_tag(held.item.msg))

    async def _send_again(
        self, held: Held[str, _Buffered], envelope: Envelope, delay_s: float
    ) -> None:
        headers = rabbit_headers(
            envelope,
            attempts=envelope.attempts,
            at=time.time() + delay_s,
            unique=held.unique,
            started=held.claim_released,
        )
        await self._publish(held.queue, envelope.encode(), headers, delay_s, envelope.id)
        await self._ack_tag(_tag(held.item.msg))

    async def _renew(
        self, helds: Sequence[Held[str, _Buffered]], lease_s: float, now: float
    ) -> list[str]:
        # The broker keeps a delivery while the connection lives (up to its consumer
        # timeout): renewing is local, and a lease is lost only with the connection.
        lost: list[str] = []
        for held in helds:
            if self._current(held):
                held.expires = now + lease_s
            else:
                lost.append(held.id)
        return lost

    async def _requeue(self, held: Held[str, _Buffered]) -> None:
        # A requeue counts as a delivery: the next holder sees the attempt.
        tag = _tag(held.item.msg)
        self._open.discard(tag)
        await self._con.basic_nack(tag, requeue=True)

    async def rescue(self) -> RescueResult:
        # Deliveries of dead workers come back from the broker by itself; here only this
        # process's expired leases (a stalled loop) and long-buffered deliveries.
        if self._con is None or self._con.is_closed:
            return RescueResult()
        result = await self._rescue_held()
        await self._hand_back_buffered(list(self.buffers), STALE_BUFFER_S)
        await self.sweep_markers()
        return result

    # -- inspecting and managing -----------------------------------------------------
    async def _depth(self, name: str) -> int | None:
        """Ready messages in a broker queue, or ``None`` when it does not exist."""
        await self._connection()
        if self._probe is None or self._probe.is_closed:
            channel = await self._conn.channel()
            self._probe = await channel.get_underlay_channel()
        try:
            ok = await self._probe.queue_declare(name, passive=True)
        except aiormq.exceptions.ChannelNotFoundEntity:
            self._probe = None
            self._declared.discard(name)
            return None
        return int(ok.message_count or 0)

    async def _queue_counts(self, queue: str) -> QueueCounts:
        pending = await self._depth(self.work_name(queue))
        if pending is None:
            return QueueCounts(reserved=self._reserved(queue))
        scheduled = 0
        for ms in BUCKETS_MS:
            found = await self._depth(self.bucket_name(queue, ms))
            scheduled += found or 0
        buffered = len(self.buffers.get(queue) or ())
        return QueueCounts(
            pending=pending + buffered, scheduled=scheduled, reserved=self._reserved(queue)
        )

    async def counts(self) -> dict[str, QueueCounts]:
        stored = await self.store_counts()
        names = self._known | await self.known_queues(stored)
        found = {queue: await self._queue_counts(queue) for queue in sorted(names)}
        return self.with_store(found, stored)

    async def queues(self) -> list[str]:
        return list(await self.counts())

    async def clear(self, queue: str) -> int:
        removed = 0
        await self._connection()
        buffer = self.buffers.get(queue)
        while buffer:
            item = buffer.popleft()
            if item.gen == self._gen:
                await self._ack_tag(_tag(item.msg))
                removed += 1
        for name in [self.work_name(queue), *(self.bucket_name(queue, b) for b in BUCKETS_MS)]:
            if await self._depth(name) is None:
                continue
            ok = await self._probe.queue_purge(name)
            removed += int(ok.message_count or 0)
        # Purged unique jobs free their keys; their superseded messages are gone too.
        await self.store.clear(claim_queue(queue))
        await self.store.clear(marker_queue(queue))
        return removed

    # -- failed jobs back to the broker ----------------------------------------------
    async def republish(self, envelopes: Sequence[tuple[Envelope | None, FailedJob]]) -> None:
        sends = []
        for env, failed in envelopes:
            if env is None:  # not an envelope: back as it was, to fail again clearly
                headers: dict[str, Any] = {}
                sends.append((failed.queue, failed.body.encode(), headers, 0.0, failed.id))
                continue
            headers = rabbit_headers(env, attempts=0)
            sends.append((env.queue, env.encode(), headers, 0.0, env.id))
        await self._publish_many(sends)

    # -- tests -----------------------------------------------------------------------
    async def delete_queues(self) -> None:
        """Delete every broker queue this driver declared (test clean-up)."""
        await self._connection()
        channel = await (await self._conn.channel()).get_underlay_channel()
        for name in sorted(self.created):
            with contextlib.suppress(*_ERRORS):
                await channel.queue_delete(name)
        self.created.clear()
