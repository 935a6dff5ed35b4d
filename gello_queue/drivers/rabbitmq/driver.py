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

Where things are
----------------
``RabbitMQDriver`` keeps the lifecycle, the messages a push publishes, and
``republish``; ``push`` itself, with the unique-key claims around the publish, is shared
(``StoreBacked``). The rest comes from the parts the driver is built of, each a class
built on parts listed above it (they share the connection's state, so the hot path,
publish, deliver and ack, calls the client directly)::

    messages.py    the headers a job travels with; reading a delivery's tag and id
    connection.py  the connection, its channels, work queues, state tied to them
    publish.py     confirmed publishing, and the delay buckets
    consume.py     consumers, buffers, reserve and wait; early deliveries sent on
    settle.py      acknowledging, sending again, renewing and rescuing held deliveries
    queues.py      counts and clear

What every broker shares is in ``broker_buffer`` (taking from buffers), ``broker_leases``
(held messages), ``broker_claims`` (unique jobs) and ``composite`` (the store).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Sequence
from typing import Any

from gello_queue.core.envelope import Envelope
from gello_queue.drivers.broker_claims import unique_mode
from gello_queue.drivers.outage import outage_boundary
from gello_queue.drivers.rabbitmq.connection import ERRORS
from gello_queue.drivers.rabbitmq.messages import rabbit_headers
from gello_queue.drivers.rabbitmq.queues import Queues
from gello_queue.drivers.rabbitmq.settle import Settling
from gello_queue.ports import Capability, FailedJob


@outage_boundary
class RabbitMQDriver(Settling, Queues):
    """The port on RabbitMQ quorum queues; see the module docstring."""

    name = "rabbitmq"
    capabilities: frozenset[str] = frozenset({Capability.CLEAR, Capability.UNIQUE_MODES})

    # -- lifecycle -------------------------------------------------------------------
    async def open(self) -> None:
        await self.store.open()
        await self._connection()

    async def close(self) -> None:
        try:
            if self._conn is not None and not self._conn.is_closed:
                with contextlib.suppress(*ERRORS):
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

    # -- producing -------------------------------------------------------------------
    def _publish_new(self, envelopes: Sequence[Envelope]) -> Awaitable[None]:
        # ``push`` (in ``StoreBacked``) claims unique keys around this.
        now = time.time()
        sends = [
            (
                env.queue,
                env.encode(),
                rabbit_headers(env, attempts=env.attempts, unique=unique_mode(env)),
                env.available_at - now,
                env.id,
            )
            for env in envelopes
        ]
        return self._publish_many(sends)

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
            with contextlib.suppress(*ERRORS):
                await channel.queue_delete(name)
        self.created.clear()
