"""The RabbitMQ connection, its channels, the work queues declared on it, and the state
that lives and dies with it.

One connection carries a publisher-confirm channel (publishes and declares), a consumer
channel (deliveries, ``basic.get`` and acks share its delivery-tag space) and, opened
when first needed, a probe channel for passive declares (a missing queue closes it).
Each reconnect starts a new *generation*: deliveries of an older one are never
acknowledged on the new channel, and everything tied to the old connection (consumers,
buffered and held deliveries, declared queues) is forgotten, since the broker requeues
its deliveries by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

import aio_pika
import aiormq

from gello_queue.core.errors import DriverUnavailableError
from gello_queue.drivers.broker_leases import Held
from gello_queue.drivers.composite import split_store_url
from gello_queue.drivers.outage import unavailable
from gello_queue.drivers.rabbitmq.messages import Buffered
from gello_queue.ports import QueueDriver

ERRORS = (aiormq.exceptions.AMQPError, ConnectionError, OSError, asyncio.TimeoutError)
"""What the broker's client raises when the broker, the connection or a channel is gone."""


class Channels:
    """The connection and its channels, and every piece of state tied to them."""

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
        self.buffers: dict[str, deque[Buffered]] = {}
        self._held: dict[str, Held[str, Buffered]] = {}
        self._prefetch = 0
        self._open: set[int] = set()
        """Delivery tags of the consumer channel not yet acknowledged or returned."""
        self._open_heap: list[int] = []
        self._arrived = asyncio.Event()
        self._lock = asyncio.Lock()
        self._touched: dict[str, float] = {}
        """Work queue -> when this driver last published to it or started consuming it
        (monotonic): a delivery of that may still be on its way."""

    # -- the connection --------------------------------------------------------------
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
        if isinstance(error, (*ERRORS, aio_pika.exceptions.AMQPException)):
            return unavailable("RabbitMQ", self.url, error)
        return None

    # -- work queues -----------------------------------------------------------------
    def work_name(self, queue: str) -> str:
        return f"{self.prefix}{queue}"

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
