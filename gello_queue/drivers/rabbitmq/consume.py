"""The consumer side of RabbitMQ: deliveries into buffers, ``reserve`` and ``wait``.

Each work queue a worker reserves from gets a consumer on the consumer channel (prefetch
as large as the worker's largest reservation); deliveries go into one buffer per queue,
in delivery-tag order, and the shared ``take`` (``broker_buffer``) reserves from them in
the worker's order. A worker holding nothing asks with ``basic.get`` instead, so an
empty answer means the queues are empty. A delivery that is early is sent on to its next
delay bucket; one buffered but never reserved is handed back with its attempts unchanged.
Both are published (confirmed) before they are acknowledged, so never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from aiormq.abc import DeliveredMessage
from pamqp import commands as spec

from gello_queue.core.envelope import new_id
from gello_queue.core.errors import EnvelopeError
from gello_queue.drivers.broker_buffer import MAX_TAKE_ROUNDS, Arrival, header_int, read_arrival
from gello_queue.drivers.broker_leases import BrokerLeases, body_max
from gello_queue.drivers.rabbitmq.messages import Buffered, delivery_tag, headers_of, message_id
from gello_queue.drivers.rabbitmq.publish import Publishing
from gello_queue.ports import Reservation

STALE_BUFFER_S = 60.0
"""A delivery buffered this long without being reserved (its queue comes after a busy
one in the worker's order) is handed back, so it never meets the consumer timeout."""
DELIVERY_LAG_S = 0.1
"""How long an empty ``reserve`` waits for a delivery the broker sent after its
get-empty reply (quorum queues do not order the two)."""
LATE_WINDOW_S = 1.0
"""An empty ``reserve`` waits so only for queues this driver published to, or started
consuming, this recently."""


class Consuming(Publishing, BrokerLeases[str, Buffered]):
    """Consumers, buffers and the reserving path; see the module docstring."""

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
                self._opened(delivery_tag(msg))
            buffer.append(Buffered(msg, gen, time.monotonic()))
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
                self._opened(delivery_tag(got))
                self.buffers[queue].append(Buffered(got, self._gen, time.monotonic()))
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

    # -- the shared take's steps (see broker_buffer) ---------------------------------
    def arrival(self, lane: str, item: Buffered, now: float) -> Arrival | None:
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
        got = read_arrival(message_id(item.msg, headers), lane, headers, used=used)
        if got.max_attempts is None and got.attempts > 1:  # sent only when below 1
            got.max_attempts = body_max(bytes(item.msg.body))
        return got

    async def send_on(self, lane: str, item: Buffered, arrival: Arrival) -> None:
        await self._forward(lane, item, arrival.meta, arrival.at - time.time())

    async def settle_unrun(self, lane: str, item: Buffered, arrival: Arrival) -> None:
        await self._ack_tag(delivery_tag(item.msg))
        await self.end_claims([(arrival.id, arrival.unique)])  # a superseded job's marker

    # -- sending deliveries on -------------------------------------------------------
    async def _forward(
        self, queue: str, item: Buffered, headers: dict[str, Any], delay_s: float
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
        await self._publish(queue, bytes(msg.body), keep, delay_s, message_id(msg, keep))
        await self._ack_tag(delivery_tag(msg))

    async def _hand_back_buffered(self, queues: Sequence[str], older_than: float = -1) -> None:
        """Return deliveries that were buffered but never reserved, attempts unchanged."""
        limit = time.monotonic() - older_than if older_than >= 0 else None
        for queue in queues:
            buffer = self.buffers.get(queue)
            while buffer and (limit is None or buffer[0].since <= limit):
                item = buffer.popleft()
                if item.gen == self._gen:
                    await self._forward(queue, item, headers_of(item.msg), 0.0)
