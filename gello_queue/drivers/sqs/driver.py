"""Amazon SQS driver (``sqs://``) on aiobotocore, with a database store.

- Queue ``name`` is the SQS queue ``{prefix}{name}{suffix}`` (``QUEUE_PREFIX`` with
  characters SQS rejects turned into ``-``; ``SQS_SUFFIX``), at ``SQS_PREFIX/…`` when the
  URL prefix is set, else looked up by name; created on first use unless
  ``SQS_CREATE_QUEUES=false``. A name ending in ``.fifo`` is a FIFO queue.
- The lease is the visibility timeout: a reservation receives with
  ``VisibilityTimeout`` = the lease, and the worker's heartbeat extends it
  (``ChangeMessageVisibilityBatch``); a dead worker's messages reappear when it lapses.
  Attempts are the ``gello-attempts`` attribute plus ``ApproximateReceiveCount``; a
  message received after its last attempt goes to the failed store (its worker died).
- Delays: ``DelaySeconds`` (rounded up, at most 15 minutes); a message received still
  early is sent again with the remaining delay and deleted (it hops until due, never
  early). On FIFO queues, which have no per-message delay, a delayed job is sent
  at once and, when received early, hidden until due (``ChangeMessageVisibility``, at
  most 12 hours per hop); a retry with backoff hides the message the same way.
- ``wait`` long-polls (``WaitTimeSeconds`` up to 20) and keeps what it receives for the
  next ``reserve``; sends, receives, deletes and visibility changes go 10 per call.
- FIFO queues: the deduplication id is the unique key (else the job id) and the message
  group is the unique key (else the job id: no ordering between jobs, full parallelism).
- Not supported (no capabilities): listing or finding queued jobs, per-message priority,
  clearing a queue without touching running jobs, cancelling or promoting one job.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from aiobotocore.session import get_session  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from gello_queue.core.envelope import Envelope, new_id
from gello_queue.core.errors import ConfigurationError, DriverUnavailableError
from gello_queue.core.states import JobState
from gello_queue.drivers.broker_buffer import Arrival, BrokerBuffer
from gello_queue.drivers.common import name_of
from gello_queue.drivers.composite import StoreBacked, store_failed
from gello_queue.observability import redact_url
from gello_queue.ports import (
    LOST_WORKER_REASON,
    FailedJob,
    Failure,
    JobRecord,
    QueueCounts,
    QueueDriver,
    RescueResult,
    Reservation,
)

MAX_DELAY_S = 900
"""SQS's longest per-message delay (15 minutes)."""
MAX_VISIBILITY_S = 43200
"""SQS's longest visibility timeout (12 hours)."""
BATCH = 10


def visibility_s(lease_s: float) -> int:
    """The visibility timeout for a lease: twice it, so a heartbeat slowed by the API
    never lets a running job reappear (a dead worker's jobs return within two leases)."""
    return min(MAX_VISIBILITY_S, max(1, math.ceil(2 * lease_s)))


_ERRORS = (BotoCoreError, ClientError, OSError, asyncio.TimeoutError)
_MISSING = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


@dataclass(slots=True)
class _Held:
    handle: str
    id: str
    queue: str
    attempts: int
    max_attempts: int | None
    unique: bool
    body: str
    attrs: dict[str, str]
    expires: float
    """The local lease (rescued by this process when it lapses unrenewed)."""
    visible_at: float
    """When SQS shows the message again (acks after it are refused locally)."""
    reserved_by: str


@dataclass(slots=True)
class _Received:
    message: dict[str, Any]
    visible_at: float
    """When SQS shows it again unless the heartbeat extends it."""


def _attrs_of(message: dict[str, Any]) -> dict[str, str]:
    return {
        k: str(v.get("StringValue")) for k, v in (message.get("MessageAttributes") or {}).items()
    }


def _receives(message: dict[str, Any]) -> int:
    return int((message.get("Attributes") or {}).get("ApproximateReceiveCount", 1))


def _used(message: dict[str, Any], attrs: dict[str, str], *, fifo: bool) -> int:
    """Attempts this message used before the current receive: its earlier receives,
    less, on a FIFO queue, the hop that hid it until due (its first receive came before
    ``gello-at``; standard queues hop by sending a new message)."""
    earlier = _receives(message) - 1
    if not fifo or earlier == 0:
        return earlier
    first = int((message.get("Attributes") or {}).get("ApproximateFirstReceiveTimestamp") or 0)
    return earlier - 1 if 0 < first < int(attrs.get("gello-at") or 0) else earlier


@dataclass(frozen=True, slots=True)
class SqsOptions:
    """Where the queues are; see the module docstring."""

    region: str = "us-east-1"
    endpoint_url: str | None = None
    url_prefix: str | None = None
    suffix: str = ""
    create: bool = True
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)


def options_from_url(url: str, **credentials: str | None) -> SqsOptions:
    """Parse ``sqs://[KEY:SECRET@]?region=…&endpoint=…&prefix=…&suffix=…&create=0``.

    Credentials in the URL win over ``credentials`` (the settings); with neither, the
    standard AWS chain (environment, profile, instance role) applies.
    """
    from urllib.parse import unquote

    parts = urlsplit(url)
    params = dict(parse_qsl(parts.query))
    if parts.username and parts.password:
        credentials = {
            "access_key_id": unquote(parts.username),
            "secret_access_key": unquote(parts.password),
        }
    return SqsOptions(
        region=params.get("region", "us-east-1"),
        endpoint_url=params.get("endpoint") or None,
        url_prefix=(params.get("prefix") or "").rstrip("/") or None,
        suffix=params.get("suffix", ""),
        create=params.get("create", "1").lower() not in ("0", "false", "no"),
        access_key_id=credentials.get("access_key_id"),
        secret_access_key=credentials.get("secret_access_key"),
    )


def _attr(value: object) -> dict[str, str]:
    if isinstance(value, int):
        return {"DataType": "Number", "StringValue": str(value)}
    return {"DataType": "String", "StringValue": str(value)}


def _ms(epoch_s: float) -> int:
    return math.ceil(epoch_s * 1000)


class SqsDriver(StoreBacked, BrokerBuffer[str, _Received]):
    """The port on Amazon SQS; see the module docstring."""

    name = "sqs"
    capabilities: frozenset[str] = frozenset()

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
        self.prefix = re.sub(r"[^A-Za-z0-9_-]", "-", prefix)
        self._client: Any = None
        self._stack: contextlib.AsyncExitStack | None = None
        self._urls: dict[str, str] = {}
        self.created: set[str] = set()
        """Queue URLs this driver created (tests delete them)."""
        self._known: set[str] = {default_queue}
        self.buffers: dict[str, deque[_Received]] = {}
        """Received, not yet reserved."""
        self._held: dict[str, _Held] = {}
        self._polls: dict[str, asyncio.Task[None]] = {}
        self._arrived = asyncio.Event()
        self._lease_s = 30.0
        self._slots = 1
        """Free slots at the last reservation: what a long poll may take at most."""

    # -- lifecycle -------------------------------------------------------------------
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

    def _unavailable(self, exc: BaseException) -> DriverUnavailableError:
        where = redact_url(self.options.endpoint_url or f"SQS in {self.options.region}")
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return DriverUnavailableError(f"cannot reach {where}: {redact_url(text)}")

    async def close(self) -> None:
        for task in self._polls.values():
            task.cancel()
        await asyncio.gather(*self._polls.values(), return_exceptions=True)
        self._polls.clear()
        try:
            if self._client is not None:
                with contextlib.suppress(*_ERRORS, DriverUnavailableError):
                    await self._hand_back([q for q in self.buffers])
        finally:
            if self._stack is not None:
                await self._stack.aclose()
            self._client = self._stack = None
            self.buffers.clear()
            self._held.clear()
            await self.store.close()

    async def now(self) -> float:
        return time.time()

    @property
    def client(self) -> Any:
        if self._client is None:
            raise DriverUnavailableError("the SQS driver is not open: call open() first")
        return self._client

    # -- queues ----------------------------------------------------------------------
    def queue_name(self, queue: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_-]", "-", queue.removesuffix(".fifo"))
        fifo = queue.endswith(".fifo") or self.options.suffix.endswith(".fifo")
        suffix = self.options.suffix.removesuffix(".fifo")
        return f"{self.prefix}{base}{suffix}{'.fifo' if fifo else ''}"[:80]

    def is_fifo(self, queue: str) -> bool:
        return self.queue_name(queue).endswith(".fifo")

    async def _url(self, queue: str, *, create: bool = True) -> str | None:
        found = self._urls.get(queue)
        if found is not None:
            return found
        name = self.queue_name(queue)
        self._known.add(queue)
        if self.options.url_prefix and not self.options.create:
            url = f"{self.options.url_prefix}/{name}"
            self._urls[queue] = url
            return url
        try:
            url = (await self.client.get_queue_url(QueueName=name))["QueueUrl"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in _MISSING:
                raise self._unavailable(exc) from None
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
        except _ERRORS as exc:
            raise self._unavailable(exc) from None
        self._urls[queue] = str(url)
        return str(url)

    # -- producing -------------------------------------------------------------------
    async def push(self, envelopes: Sequence[Envelope]) -> list[str]:
        holders = await self.claim_unique(envelopes)
        now = time.time()
        sends: dict[str, list[dict[str, Any]]] = {}
        for env in envelopes:
            if holders.get(env.id, env.id) != env.id:
                continue
            attrs: dict[str, object] = {
                "gello-id": env.id,
                "gello-at": _ms(env.available_at),
                "gello-attempts": env.attempts,
                "gello-max": env.max_attempts,
            }
            if env.unique_key is not None:
                attrs["gello-unique"] = 1
            sends.setdefault(env.queue, []).append(
                self._entry(
                    env.queue, env.encode().decode(), attrs, env.available_at - now, env, first=True
                )
            )
        try:
            await self._send(sends)
        except BaseException:
            await self.release_unique([e.id for e in envelopes if e.unique_key is not None])
            raise
        return [holders.get(e.id, e.id) for e in envelopes]

    def _entry(
        self,
        queue: str,
        body: str,
        attrs: dict[str, object],
        delay_s: float,
        env: Envelope | None,
        *,
        first: bool = False,
    ) -> dict[str, Any]:
        job_id = str(attrs["gello-id"])
        entry: dict[str, Any] = {
            "MessageBody": body,
            "MessageAttributes": {k: _attr(v) for k, v in attrs.items()},
        }
        if self.is_fifo(queue):
            key = env.unique_key if env is not None and env.unique_key else None
            entry["MessageGroupId"] = re.sub(r"[^!-~]", "_", key or job_id)[:128]
            # The first send of a job deduplicates on its id (a producer's retried call
            # is not a second job); a job sent again (retried from the failed store) is
            # a new message. Unique keys are held in the store, not by the five-minute
            # deduplication window, so a completed job's key can be used again at once.
            entry["MessageDeduplicationId"] = job_id if first else new_id()
        elif delay_s > 0:
            entry["DelaySeconds"] = min(MAX_DELAY_S, math.ceil(delay_s))
        return entry

    async def _send(self, sends: dict[str, list[dict[str, Any]]]) -> None:
        """Send in batches of ten, concurrently; raise when any entry failed."""
        calls = []
        for queue, entries in sends.items():
            url = await self._url(queue)
            for i in range(0, len(entries), BATCH):
                chunk = [{"Id": str(n), **e} for n, e in enumerate(entries[i : i + BATCH])]
                calls.append(self.client.send_message_batch(QueueUrl=url, Entries=chunk))
        try:
            results = await asyncio.gather(*calls)
        except _ERRORS as exc:
            raise self._unavailable(exc) from None
        for result in results:
            if result.get("Failed"):
                first = result["Failed"][0]
                raise DriverUnavailableError(
                    f"SQS refused {len(result['Failed'])} message(s): {first.get('Message')}"
                )

    # -- consuming -------------------------------------------------------------------
    async def _receive(self, queue: str, want: int, lease_s: float, wait_s: int) -> int:
        url = await self._url(queue)
        got = await self.client.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=max(1, min(BATCH, want)),
            VisibilityTimeout=visibility_s(lease_s),
            WaitTimeSeconds=wait_s,
            AttributeNames=["ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"],
            MessageAttributeNames=["All"],
        )
        messages = got.get("Messages") or []
        buffer = self.buffers.setdefault(queue, deque())
        expires = time.time() + visibility_s(lease_s)
        for message in messages:
            buffer.append(_Received(message, expires))
        if messages:
            self._arrived.set()
        return len(messages)

    async def reserve(
        self, queues: Sequence[str], limit: int, *, lease_s: float, worker_id: str
    ) -> list[Reservation]:
        self._lease_s, self._slots = lease_s, max(1, limit)
        try:
            out = await self.take(queues, limit, lease_s=lease_s, worker_id=worker_id)
            for queue in queues:
                if len(out) >= limit:
                    break
                # A full batch per request: SQS bills (and moto scans the queue) per
                # request; the rest waits in the buffer, its visibility renewed by extend.
                if await self._receive(queue, BATCH, lease_s, 0):
                    more = limit - len(out)
                    out += await self.take(queues, more, lease_s=lease_s, worker_id=worker_id)
        except _ERRORS as exc:
            raise self._unavailable(exc) from None
        return out

    # -- the shared take's steps (see broker_buffer) ---------------------------------
    def arrival(self, lane: str, item: _Received, now: float) -> Arrival | None:
        if item.visible_at <= now:
            return None  # held too long unreserved: SQS shows it again by itself
        message = item.message
        attrs = _attrs_of(message)
        top = attrs.get("gello-max")
        return Arrival(
            id=attrs.get("gello-id") or message["MessageId"],
            queue=lane,
            at=int(attrs.get("gello-at") or 0) / 1000,
            attempts=int(attrs.get("gello-attempts") or 0)
            + _used(message, attrs, fifo=self.is_fifo(lane))
            + 1,
            max_attempts=None if top is None else int(top),
            unique="processed" if attrs.get("gello-unique") else None,
            meta=attrs,
        )

    async def send_on(self, lane: str, item: _Received, arrival: Arrival) -> None:
        await self._hop(lane, item.message)

    async def lost(self, lane: str, item: _Received, arrival: Arrival) -> None:
        # Its last attempt was received and never settled: the worker died running it.
        held = self._hold(lane, item, arrival, arrival.attempts - 1, 0.0, "")
        await self._fail_held(held, Failure("WorkerLost", LOST_WORKER_REASON))

    async def settle_unrun(self, lane: str, item: _Received, arrival: Arrival) -> None:
        url = await self._url(lane)
        await self.client.delete_message(QueueUrl=url, ReceiptHandle=item.message["ReceiptHandle"])

    def lease(
        self,
        lane: str,
        item: _Received,
        arrival: Arrival,
        lease_s: float,
        worker_id: str,
        now: float,
    ) -> Reservation:
        held = self._hold(lane, item, arrival, arrival.attempts, now + lease_s, worker_id)
        self._held[held.handle] = held
        return Reservation(held.id, lane, held.handle, held.attempts, held.body, held.expires)

    def _hold(
        self,
        lane: str,
        item: _Received,
        arrival: Arrival,
        attempts: int,
        expires: float,
        worker_id: str,
    ) -> _Held:
        return _Held(
            handle=item.message["ReceiptHandle"],
            id=arrival.id,
            queue=lane,
            attempts=attempts,
            max_attempts=arrival.max_attempts,
            unique=arrival.unique is not None,
            body=item.message.get("Body", ""),
            attrs=arrival.meta,
            expires=min(item.visible_at, expires),
            visible_at=item.visible_at,
            reserved_by=worker_id,
        )

    async def _hop(self, queue: str, message: dict[str, Any]) -> None:
        """An early message waits until due, its receive not counted as an attempt (nor
        any earlier one: they were earlier still).

        Standard queues send it again with the remaining delay, then delete it (sent
        first: a crash in between duplicates, never loses). FIFO queues have no
        per-message delay: a message received for the first time is hidden until due
        (``_used`` then discounts that one receive); received early again (a delay
        over 12 hours, or a hop cut short), it is sent again as a fresh message.
        """
        url = await self._url(queue)
        attrs = _attrs_of(message)
        remaining = int(attrs.get("gello-at") or 0) / 1000 - time.time()
        handle = message["ReceiptHandle"]
        if self.is_fifo(queue) and _receives(message) == 1:
            await self.client.change_message_visibility(
                QueueUrl=url,
                ReceiptHandle=handle,
                VisibilityTimeout=min(MAX_VISIBILITY_S, max(1, math.ceil(remaining))),
            )
            return
        entry = self._entry(queue, message.get("Body", ""), dict(attrs), remaining, None)
        await self._send({queue: [entry]})
        await self.client.delete_message(QueueUrl=url, ReceiptHandle=handle)

    async def _hand_back(self, queues: Sequence[str]) -> None:
        """Return received, never-reserved messages: sent again with their receive not
        counted as an attempt, then deleted."""
        for queue in queues:
            buffer = self.buffers.get(queue)
            while buffer:
                message = buffer.popleft().message
                attrs = _attrs_of(message)
                keep: dict[str, object] = dict(attrs)
                keep.setdefault("gello-id", message["MessageId"])
                used = _used(message, attrs, fifo=self.is_fifo(queue))
                keep["gello-attempts"] = int(attrs.get("gello-attempts") or 0) + used
                entry = self._entry(queue, message.get("Body", ""), keep, 0, None)
                await self._send({queue: [entry]})
                url = await self._url(queue)
                await self.client.delete_message(
                    QueueUrl=url, ReceiptHandle=message["ReceiptHandle"]
                )

    async def _visibility(self, url: str, handles: Sequence[str], seconds: int) -> set[str]:
        """Change visibility in batches; return the handles SQS refused (stale)."""
        refused: set[str] = set()
        for i in range(0, len(handles), BATCH):
            chunk = handles[i : i + BATCH]
            result = await self.client.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": h, "VisibilityTimeout": seconds}
                    for n, h in enumerate(chunk)
                ],
            )
            refused.update(chunk[int(f["Id"])] for f in result.get("Failed") or [])
        return refused

    async def wait(self, queues: Sequence[str], timeout_s: float) -> None:
        self._arrived.clear()
        if any(self.buffers.get(q) for q in queues):
            return
        wait_s = max(0, min(20, int(timeout_s)))
        for queue in queues:
            task = self._polls.get(queue)
            if task is None or task.done():
                self._polls[queue] = asyncio.create_task(self._poll(queue, wait_s))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), timeout_s)

    async def _poll(self, queue: str, wait_s: int) -> None:
        # Long polling: one request waits up to wait_s for a message (low latency, cheap).
        with contextlib.suppress(*_ERRORS):
            await self._receive(queue, self._slots, self._lease_s, wait_s)

    def _settle(self, res: Reservation) -> _Held | None:
        held = self._held.pop(res.token, None)
        if held is None:
            return None
        if held.visible_at <= time.time():
            return None  # visible again: another worker may hold the message now
        return held

    async def ack(self, reservations: Sequence[Reservation]) -> int:
        done = [h for h in (self._settle(r) for r in reservations) if h is not None]
        if not done:
            return 0
        try:
            await self._delete(done)
        except _ERRORS as exc:
            raise self._unavailable(exc) from None
        await self.release_unique([h.id for h in done if h.unique])
        return len(done)

    async def _delete(self, helds: Sequence[_Held]) -> None:
        by_queue: dict[str, list[_Held]] = {}
        for held in helds:
            by_queue.setdefault(held.queue, []).append(held)
        calls = []
        for queue, items in by_queue.items():
            url = await self._url(queue)
            for i in range(0, len(items), BATCH):
                entries = [
                    {"Id": str(n), "ReceiptHandle": h.handle}
                    for n, h in enumerate(items[i : i + BATCH])
                ]
                calls.append(self.client.delete_message_batch(QueueUrl=url, Entries=entries))
        await asyncio.gather(*calls)

    async def release(self, reservation: Reservation, envelope: Envelope, delay_s: float) -> bool:
        held = self._settle(reservation)
        if held is None:
            return False
        try:
            # Sent again as a new message (on FIFO too, whose delay is then a hop): the
            # envelope's attempts (one given back by ``ReleaseJob``) and reason are kept.
            url = await self._url(held.queue)
            attrs: dict[str, object] = {
                "gello-id": envelope.id,
                "gello-at": _ms(time.time() + delay_s),
                "gello-attempts": envelope.attempts,
                "gello-max": envelope.max_attempts,
            }
            if held.unique:
                attrs["gello-unique"] = 1
            entry = self._entry(held.queue, envelope.encode().decode(), attrs, delay_s, envelope)
            await self._send({held.queue: [entry]})
            await self.client.delete_message(QueueUrl=url, ReceiptHandle=held.handle)
        except _ERRORS as exc:
            raise self._unavailable(exc) from None
        return True

    async def fail(self, reservation: Reservation, body: str, failure: Failure) -> bool:
        held = self._settle(reservation)
        if held is None:
            return False
        await self._fail_held(held, failure, body)
        return True

    async def _fail_held(self, held: _Held, failure: Failure, body: str | None = None) -> None:
        self._held.pop(held.handle, None)
        text = body if body is not None else held.body
        await store_failed(
            self.store,
            FailedJob(
                id=held.id,
                queue=held.queue,
                name=name_of(text),
                body=text,
                exception=failure.exception,
                message=failure.message,
                traceback=failure.traceback,
                failed_at=time.time(),
                attempts=held.attempts,
            ),
        )
        try:
            await self._delete([held])
        except _ERRORS as exc:
            raise self._unavailable(exc) from None
        if held.unique:
            await self.release_unique([held.id])

    async def extend(self, reservations: Sequence[Reservation], lease_s: float) -> list[str]:
        now = time.time()
        lost: list[str] = []
        by_queue: dict[str, list[_Held]] = {}
        for res in reservations:
            held = self._held.get(res.token)
            if held is None or held.visible_at <= now:
                lost.append(res.id)
            else:
                by_queue.setdefault(held.queue, []).append(held)
        seconds = visibility_s(lease_s)
        try:
            for queue, buffer in self.buffers.items():
                live = [item for item in buffer if item.visible_at > now]
                if live:
                    url = await self._url(queue) or ""
                    refused = await self._visibility(
                        url, [i.message["ReceiptHandle"] for i in live], seconds
                    )
                    for item in live:
                        if item.message["ReceiptHandle"] not in refused:
                            item.visible_at = now + seconds
            for queue, items in by_queue.items():
                refused = await self._visibility(
                    await self._url(queue) or "", [h.handle for h in items], seconds
                )
                for held in items:
                    if held.handle in refused:
                        self._held.pop(held.handle, None)
                        lost.append(held.id)
                    else:
                        held.expires = now + lease_s
                        held.visible_at = now + seconds
        except _ERRORS as exc:
            raise self._unavailable(exc) from None
        return lost

    async def rescue(self) -> RescueResult:
        # SQS shows a message again when its visibility lapses; here only this process's
        # leases that lapsed unrenewed (a stalled loop) are settled.
        result = RescueResult()
        now = time.time()
        expired = [h for h in self._held.values() if h.expires <= now]
        try:
            for held in expired:
                self._held.pop(held.handle, None)
                if held.max_attempts is not None and held.attempts >= held.max_attempts:
                    await self._fail_held(held, Failure("WorkerLost", LOST_WORKER_REASON))
                    result.failed.append(held.id)
                else:
                    await self._visibility(await self._url(held.queue) or "", [held.handle], 0)
                    result.requeued.append(held.id)
        except _ERRORS as exc:
            raise self._unavailable(exc) from None
        return result

    # -- inspecting and managing -----------------------------------------------------
    async def _discover(self) -> set[str]:
        """gello queues with an SQS queue under this prefix (SQS can list queues)."""
        names: set[str] = set()
        with contextlib.suppress(*_ERRORS):
            found = await self.client.list_queues(QueueNamePrefix=self.prefix, MaxResults=1000)
            for url in found.get("QueueUrls") or []:
                name = url.rsplit("/", 1)[-1]
                base = name.removesuffix(".fifo")
                suffix = self.options.suffix.removesuffix(".fifo")
                if suffix and base.endswith(suffix):
                    base = base[: -len(suffix)]
                queue = base[len(self.prefix) :] + (".fifo" if name.endswith(".fifo") else "")
                if self.queue_name(queue) == name:
                    names.add(queue)
                    self._urls.setdefault(queue, url)
        return names

    async def counts(self) -> dict[str, QueueCounts]:
        stored = await self.store_counts()
        names = self._known | await self.known_queues() | await self._discover()
        out: dict[str, QueueCounts] = {}
        try:
            for queue in sorted(names):
                url = await self._url(queue, create=False)
                c = QueueCounts()
                if url is not None:
                    got = await self.client.get_queue_attributes(
                        QueueUrl=url,
                        AttributeNames=[
                            "ApproximateNumberOfMessages",
                            "ApproximateNumberOfMessagesDelayed",
                            "ApproximateNumberOfMessagesNotVisible",
                        ],
                    )
                    a = got.get("Attributes") or {}
                    buffered = len(self.buffers.get(queue) or ())
                    c = QueueCounts(
                        pending=int(a.get("ApproximateNumberOfMessages", 0)) + buffered,
                        scheduled=int(a.get("ApproximateNumberOfMessagesDelayed", 0)),
                        reserved=max(
                            int(a.get("ApproximateNumberOfMessagesNotVisible", 0)) - buffered, 0
                        ),
                    )
                failed = stored[queue].failed if queue in stored else 0
                if c.total or failed:
                    out[queue] = QueueCounts(c.pending, c.scheduled, c.reserved, failed)
        except _ERRORS as exc:
            raise self._unavailable(exc) from None
        return out

    async def queues(self) -> list[str]:
        return list(await self.counts())

    async def clear(self, queue: str) -> int:
        raise self.unsupported("clearing a queue (PurgeQueue would delete running jobs too)")

    async def find(self, job_id: str) -> JobRecord | None:
        # SQS cannot look inside a queue: only jobs this process holds are found.
        for held in self._held.values():
            if held.id == job_id:
                return JobRecord(
                    id=held.id,
                    queue=held.queue,
                    state=JobState.RESERVED,
                    attempts=held.attempts,
                    priority=0,
                    available_at=int(held.attrs.get("gello-at") or 0) / 1000,
                    created_at=0.0,
                    body=held.body,
                    reserved_by=held.reserved_by,
                    lease_expires_at=held.expires,
                )
        return None

    async def republish(self, envelopes: Sequence[tuple[Envelope | None, FailedJob]]) -> None:
        sends: dict[str, list[dict[str, Any]]] = {}
        for env, failed in envelopes:
            if env is None:
                attrs: dict[str, object] = {"gello-id": failed.id, "gello-attempts": 0}
                sends.setdefault(failed.queue, []).append(
                    self._entry(failed.queue, failed.body, attrs, 0, None)
                )
                continue
            attrs = {
                "gello-id": env.id,
                "gello-at": _ms(env.available_at),
                "gello-attempts": 0,
                "gello-max": env.max_attempts,
            }
            sends.setdefault(env.queue, []).append(
                self._entry(env.queue, env.encode().decode(), attrs, 0, env)
            )
        await self._send(sends)

    # -- tests -----------------------------------------------------------------------
    async def delete_queues(self) -> None:
        """Delete the queues this driver created (test clean-up)."""
        for url in sorted(self.created):
            with contextlib.suppress(*_ERRORS):
                await self.client.delete_queue(QueueUrl=url)
        self.created.clear()
