"""Publishing on RabbitMQ: to a work queue, or through the delay buckets.

A delayed job goes to the largest delay bucket ``{prefix}{queue}.delayed.{ms}ms`` not
longer than its remaining delay: a quorum queue whose queue-wide message TTL dead-letters
it into the work queue (at-least-once dead-lettering). Every message in a bucket has the
same TTL, so the head always expires first; a job that reaches the work queue still
early is sent on to the next bucket by the worker that receives it. Buckets are declared
on first use: at most ``len(BUCKETS_MS)`` per work queue.

Every publish waits for the broker's confirm, and is ``mandatory``: a queue deleted
behind the driver's back is declared again and the message sent once more.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import aiormq
from pamqp import commands as spec

from gello_queue.drivers.rabbitmq.connection import Channels

BUCKETS_MS = tuple(16 * 4**k for k in range(12))
"""Delay bucket TTLs: 16 ms to 18.6 h; longer delays go round the largest again."""


class Publishing(Channels):
    """Publishing, confirmed, on the publisher channel; see the module docstring."""

    def bucket_name(self, queue: str, ms: int) -> str:
        return f"{self.prefix}{queue}.delayed.{ms}ms"

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

    async def _route(self, queue: str, delay_s: float) -> str:
        ms = delay_s * 1000
        if ms <= 0:
            return await self._declare_work(queue)
        bucket = max((b for b in BUCKETS_MS if b <= ms), default=BUCKETS_MS[0])
        return await self._declare_bucket(queue, bucket)

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
