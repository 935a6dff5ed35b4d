"""The SQS client, the queue URLs it finds or creates, and the state the driver keeps.

Each lane (a gello queue, or one of its priority levels: see ``names``) is one SQS
queue, at ``SQS_PREFIX/…`` when the URL prefix is set and queues are not created, else
looked up by name and created on first use (a name ending in ``.fifo`` is a FIFO
queue) unless ``SQS_CREATE_QUEUES=false``. URLs are remembered once found.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from typing import Any

from aiobotocore.session import get_session  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from gello_queue.core.errors import ConfigurationError, DriverUnavailableError
from gello_queue.drivers.broker_leases import Held
from gello_queue.drivers.outage import unavailable
from gello_queue.drivers.sqs.messages import Received
from gello_queue.drivers.sqs.names import Lane, Naming, sanitize
from gello_queue.drivers.sqs.options import SqsOptions
from gello_queue.ports import QueueDriver

ERRORS = (BotoCoreError, ClientError, OSError, asyncio.TimeoutError)
"""What the client raises when SQS cannot be reached or refuses a call."""
_MISSING = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")
BATCH = 10
"""Entries per batch call (sends, deletes, visibility changes) and per receive."""


class Connection:
    """The client, the queues' URLs, and every piece of state the driver keeps."""

    def __init__(
        self,
        options: SqsOptions,
        store: QueueDriver,
        *,
        prefix: str = "gello:",
        default_queue: str = "default",
    ) -> None:
        self.options = options
        self.store = store
        self.prefix = sanitize(prefix)
        self.naming = Naming(self.prefix, options.suffix, options.priorities)
        self._client: Any = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._urls: dict[Lane, str] = {}
        self.created: set[str] = set()
        """Queue URLs this driver created (tests delete them)."""
        self._known: set[str] = {default_queue}
        self.buffers: dict[Lane, deque[Received]] = {}
        """Received, not yet reserved."""
        self._held: dict[str, Held[Lane, Received]] = {}
        self._polls: dict[Lane, asyncio.Task[None]] = {}
        self._arrived = asyncio.Event()
        self._lease_s = 30.0
        self._slots = 1
        """Free slots at the last reservation: what a long poll may take at most."""

    # -- the client ------------------------------------------------------------------
    async def open(self) -> None:
        await self.store.open()
        if self._client is not None:
            return
        o = self.options
        stack = contextlib.AsyncExitStack()
        session = get_session()
        self._client = await stack.enter_async_context(
            session.create_client(
                "sqs",
                region_name=o.region,
                endpoint_url=o.endpoint_url,
                aws_access_key_id=o.access_key_id,
                aws_secret_access_key=o.secret_access_key,
                config=Config(retries={"max_attempts": 3, "mode": "standard"}),
            )
        )
        self._stack = stack

    def _outage(self, error: BaseException) -> DriverUnavailableError | None:
        """Applied to every public method by ``outage_boundary``."""
        if isinstance(error, ERRORS):
            where = self.options.endpoint_url or f"its endpoint in {self.options.region}"
            return unavailable("SQS", where, error)
        return None

    @property
    def client(self) -> Any:
        if self._client is None:
            raise DriverUnavailableError("the SQS driver is not open: call open() first")
        return self._client

    # -- queues ----------------------------------------------------------------------
    def queue_name(self, queue: str, level: int = 0) -> str:
        """The SQS queue of ``queue`` (of one of its priority levels)."""
        return self.naming.name((queue, level))

    def is_fifo(self, queue: str) -> bool:
        return self.naming.is_fifo(queue)

    async def _url(self, lane: Lane, *, create: bool = True) -> str | None:
        found = self._urls.get(lane)
        if found is not None:
            return found
        name = self.naming.name(lane)
        self._known.add(lane[0])
        if self.options.url_prefix and not self.options.create:
            url = f"{self.options.url_prefix}/{name}"
            self._urls[lane] = url
            return url
        try:
            url = (await self.client.get_queue_url(QueueName=name))["QueueUrl"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _MISSING:
                raise
            if not create:
                return None
            if not self.options.create:
                raise ConfigurationError(
                    f"SQS queue {name} does not exist and SQS_CREATE_QUEUES is off"
                ) from None
            attributes = {"FifoQueue": "true"} if name.endswith(".fifo") else {}
            url = (await self.client.create_queue(QueueName=name, Attributes=attributes))[
                "QueueUrl"
            ]
            self.created.add(url)
        self._urls[lane] = str(url)
        return str(url)
