"""Settling deliveries on RabbitMQ: the broker's steps of the shared held leases
(``broker_leases``), and ``rescue``.

A reservation's token is the channel's generation and the delivery tag, so a token from
before a reconnect never acknowledges another delivery. The lease is the broker's
consumer acknowledgement timeout (``consumer_timeout``, 30 minutes by default) while the
connection lives: renewing is local, and ``rescue`` returns only this process's
deliveries whose local lease lapsed (a stalled event loop), since the broker itself
redelivers the deliveries of a worker whose connection is gone.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Sequence
from typing import Any

from gello_queue.core.envelope import Envelope
from gello_queue.drivers.broker_leases import Held
from gello_queue.drivers.rabbitmq.consume import STALE_BUFFER_S, Consuming
from gello_queue.drivers.rabbitmq.messages import (
    Buffered,
    delivery_tag,
    headers_of,
    message_id,
    rabbit_headers,
)
from gello_queue.ports import RescueResult


class Settling(Consuming):
    """Acknowledge, send again, renew and hand back held deliveries."""

    def _token(self, item: Buffered) -> str:
        # The channel's generation too: a token from before a reconnect never
        # acknowledges another delivery that has the same tag.
        return f"{item.gen}.{delivery_tag(item.msg)}"

    def _body(self, item: Buffered) -> bytes:
        return bytes(item.msg.body)

    def _label(self, lane: str, item: Buffered) -> tuple[str, str, dict[str, Any]]:
        headers = headers_of(item.msg)
        return message_id(item.msg, headers), lane, headers

    def _current(self, held: Held[str, Buffered]) -> bool:
        return held.item.gen == self._gen

    def _settleable(self, held: Held[str, Buffered], now: float) -> bool:
        return self._current(held) and self._con is not None and not self._con.is_closed

    async def _ack_many(self, helds: Sequence[Held[str, Buffered]]) -> None:
        tags = sorted(delivery_tag(h.item.msg) for h in helds)
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

    async def _ack_one(self, held: Held[str, Buffered]) -> None:
        await self._ack_tag(delivery_tag(held.item.msg))

    async def _send_again(
        self, held: Held[str, Buffered], envelope: Envelope, delay_s: float
    ) -> None:
        headers = rabbit_headers(
            envelope,
            attempts=envelope.attempts,
            at=time.time() + delay_s,
            unique=held.unique,
            started=held.claim_released,
        )
        await self._publish(held.queue, envelope.encode(), headers, delay_s, envelope.id)
        await self._ack_tag(delivery_tag(held.item.msg))

    async def _renew(
        self, helds: Sequence[Held[str, Buffered]], lease_s: float, now: float
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

    async def _requeue(self, held: Held[str, Buffered]) -> None:
        # A requeue counts as a delivery: the next holder sees the attempt.
        tag = delivery_tag(held.item.msg)
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
