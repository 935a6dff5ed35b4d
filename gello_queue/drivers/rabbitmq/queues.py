"""Counting and clearing RabbitMQ queues.

AMQP cannot list queues, nor count a queue without declaring it: counts ask each known
work queue and its delay buckets with a passive declare (on the probe channel, which a
missing queue closes), and add what this process buffered and holds. Known queues are
those this process pushed to or consumed from, and those the store knows (failed,
paused, served).
"""

from __future__ import annotations

import aiormq

from gello_queue.drivers.broker_claims import claim_queue, marker_queue
from gello_queue.drivers.composite import StoreBacked
from gello_queue.drivers.rabbitmq.consume import Consuming
from gello_queue.drivers.rabbitmq.messages import delivery_tag
from gello_queue.drivers.rabbitmq.publish import BUCKETS_MS
from gello_queue.ports import QueueCounts


class Queues(Consuming, StoreBacked):
    """Counts per queue, and ``clear``."""

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

    async def clear(self, queue: str) -> int:
        removed = 0
        await self._connection()
        buffer = self.buffers.get(queue)
        while buffer:
            item = buffer.popleft()
            if item.gen == self._gen:
                await self._ack_tag(delivery_tag(item.msg))
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
