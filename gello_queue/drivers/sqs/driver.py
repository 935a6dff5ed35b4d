"""Amazon SQS driver (``sqs://``) on aiobotocore, with a database store.

- Queue ``name`` is the SQS queue ``{prefix}{name}{suffix}`` (see ``names``), at
  ``SQS_PREFIX/…`` when the URL prefix is set, else looked up by name; created on first
  use unless ``SQS_CREATE_QUEUES=false``. A name ending in ``.fifo`` is a FIFO queue.
  With ``priorities=5,3`` in the URL, each of those levels has a queue of its own
  (``{name}-5``), and ``reserve`` drains higher levels first.
- The lease is the visibility timeout: a reservation receives with
  ``VisibilityTimeout`` = twice the lease, and the worker's heartbeat extends it
  (``ChangeMessageVisibilityBatch``); a dead worker's messages reappear when it lapses.
  Attempts are the ``gello-attempts`` attribute plus the receives that were attempts
  (``ApproximateReceiveCount``, less a FIFO hop); a message received after its last
  attempt goes to the failed store (its worker died).
- Delays: ``DelaySeconds`` (rounded up, at most 15 minutes); a message received still
  early is sent again with the remaining delay and deleted (it hops until due, never
  early). On FIFO queues, which have no per-message delay, a delayed job is sent at
  once and, when first received early, hidden until due (``ChangeMessageVisibility``,
  at most 12 hours; received early again, it is sent again). Releases (retries,
  ``ReleaseJob``) send a new message with the envelope's attempts on both kinds.
- ``wait`` long-polls (``WaitTimeSeconds`` up to 20) and keeps what it receives for the
  next ``reserve``; sends, receives, deletes and visibility changes go 10 per call.
- FIFO queues: the deduplication id is the job id on its first send, fresh on a
  resend; the message group is the job id (no ordering between jobs, full
  parallelism), or the unique key of a plain unique job.
- Unique jobs (every mode) are claimed in the store (see ``broker_claims``).
- Not supported: listing queued jobs, per-message priority inside one queue, clearing
  a queue without touching running jobs, cancelling a job without a unique key,
  promoting one job.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import re
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiobotocore.session import get_session  # type: ignore[import-untyped]
from botocore.config import Config  # type: ignore[import-untyped]
from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

from gello_queue.core.envelope import Envelope, new_id
from gello_queue.core.errors import ConfigurationError, DriverUnavailableError, EnvelopeError
from gello_queue.drivers.broker_buffer import Arrival, header_int, job_headers, read_arrival
from gello_queue.drivers.broker_claims import unique_mode
from gello_queue.drivers.broker_leases import BrokerLeases, Held
from gello_queue.drivers.composite import StoreBacked
from gello_queue.drivers.outage import outage_boundary, unavailable
from gello_queue.drivers.sqs.names import Lane, Naming, sanitize
from gello_queue.drivers.sqs.options import SqsOptions
from gello_queue.ports import (
    Capability,
    FailedJob,
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


_REPLY_SLACK_S = 1.0
"""How long before a long poll's reply its messages may have been handed out."""


def visibility_s(lease_s: float) -> int:
    """The visibility timeout for a lease: twice it, so a heartbeat slowed by the API
    never lets a running job reappear (a dead worker's jobs return within two leases)."""
    return min(MAX_VISIBILITY_S, max(1, math.ceil(2 * lease_s)))


_ERRORS = (BotoCoreError, ClientError, OSError, asyncio.TimeoutError)
_MISSING = ("AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist")


@dataclass(slots=True)
class _Received:
    message: dict[str, Any]
    visible_at: float
    """When SQS shows it again unless the heartbeat extends it."""


def _attrs_of(message: dict[str, Any]) -> dict[str, str]:
    return {
        k: str(v.get("StringValue")) for k, v in (message.get("MessageAttributes") or {}).items()
    }


def _job_id(message: dict[str, Any], attrs: dict[str, str]) -> str:
    """The job id: ``gello-id``, else the message's own id (a foreign message)."""
    return attrs.get("gello-id") or str(message["MessageId"])


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
    return earlier - 1 if 0 < first < (header_int(attrs, "gello-at") or 0) else earlier


def _plus(a: QueueCounts, b: QueueCounts) -> QueueCounts:
    return QueueCounts(a.pending + b.pending, a.scheduled + b.scheduled, a.reserved + b.reserved)


def _attr(value: object) -> dict[str, str]:
    if isinstance(value, int):
        return {"DataType": "Number", "StringValue": str(value)}
    return {"DataType": "String", "StringValue": str(value)}


@outage_boundary
class SqsDriver(BrokerLeases[Lane, _Received], StoreBacked):
    """The port on Amazon SQS; see the module docstring."""

    name = "sqs"
    capabilities: frozenset[str] = frozenset({Capability.UNIQUE_MODES})

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
        self.buffers: dict[Lane, deque[_Received]] = {}
        """Received, not yet reserved."""
        self._held: dict[str, Held[Lane, _Received]] = {}
        self._polls: dict[Lane, asyncio.Task[None]] = {}
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

    def _outage(self, error: BaseException) -> DriverUnavailableError | None:
        """Applied to every public method by ``outage_boundary``."""
        if isinstance(error, _ERRORS):
            where = self.options.endpoint_url or f"its endpoint in {self.options.region}"
            return unavailable("SQS", where, error)
        return None

    async def close(self) -> None:
        for task in self._polls.values():
            task.cancel()
        await asyncio.gather(*self._polls.values(), return_exceptions=True)
        self._polls.clear()
        try:
            if self._client is not None:
                with contextlib.suppress(*_ERRORS, DriverUnavailableError):
                    await self._hand_back(list(self.buffers))
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

    # -- producing -------------------------------------------------------------------
    async def push(self, envelopes: Sequence[Envelope]) -> list[str]:
        claimed = await self.claim_unique(envelopes)
        now = time.time()
        sends: dict[Lane, list[dict[str, Any]]] = {}
        claims: list[str] = []
        for env in envelopes:
            if not claimed.sends(env):
                continue
            attrs = job_headers(env, attempts=env.attempts, unique=unique_mode(env))
            body = env.encode().decode()
            sends.setdefault(self._lane(env), []).append(
                self._entry(env.queue, body, attrs, env.available_at - now, env, first=True)
            )
            if env.unique_key is not None:
                claims.append(env.id)
        try:
            await self._send(sends)
        except BaseException:
            await self.release_unique(claims)
            raise
        return [claimed.holders.get(e.id, e.id) for e in envelopes]

    def _lane(self, env: Envelope) -> Lane:
        return env.queue, self.naming.level_of(env.priority)

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
            # One group per job (no ordering between jobs, full parallelism), or per
            # unique key for plain unique jobs: one of them at a time anyway.
            key = env.unique_key if env is not None and unique_mode(env) == "processed" else None
            entry["MessageGroupId"] = re.sub(r"[^!-~]", "_", key or job_id)[:128]
            # The first send of a job deduplicates on its id (a producer's retried call
            # is not a second job); a job sent again (retried from the failed store) is
            # a new message. Unique keys are held in the store, not by the five-minute
            # deduplication window, so a completed job's key can be used again at once.
            entry["MessageDeduplicationId"] = job_id if first else new_id()
        elif delay_s > 0:
            entry["DelaySeconds"] = min(MAX_DELAY_S, math.ceil(delay_s))
        return entry

    async def _send(self, sends: dict[Lane, list[dict[str, Any]]]) -> None:
        """Send in batches of ten, concurrently; raise when any entry failed."""
        calls = []
        for lane, entries in sends.items():
            url = await self._url(lane)
            for i in range(0, len(entries), BATCH):
                chunk = [{"Id": str(n), **e} for n, e in enumerate(entries[i : i + BATCH])]
                calls.append(self.client.send_message_batch(QueueUrl=url, Entries=chunk))
        results = await asyncio.gather(*calls)
        for result in results:
            if result.get("Failed"):
                first = result["Failed"][0]
                raise DriverUnavailableError(
                    f"SQS refused {len(result['Failed'])} message(s): {first.get('Message')}"
                )

    # -- consuming -------------------------------------------------------------------
    async def _receive(self, lane: Lane, want: int, lease_s: float, wait_s: int) -> int:
        url = await self._url(lane)
        sent = time.time()
        got = await self.client.receive_message(
            QueueUrl=url,
            MaxNumberOfMessages=max(1, min(BATCH, want)),
            VisibilityTimeout=visibility_s(lease_s),
            WaitTimeSeconds=wait_s,
            AttributeNames=["ApproximateReceiveCount", "ApproximateFirstReceiveTimestamp"],
            MessageAttributeNames=["All"],
        )
        messages = got.get("Messages") or []
        buffer = self.buffers.setdefault(lane, deque())
        # Visibility runs from when SQS handed the messages out, which a slow reply can
        # put well before they reach us: count from the request (a long poll's messages
        # went out when they arrived, so from at most a second before the reply).
        handed_out = sent if wait_s == 0 else max(sent, time.time() - _REPLY_SLACK_S)
        expires = handed_out + visibility_s(lease_s)
        for message in messages:
            buffer.append(_Received(message, expires))
        if messages:
            self._arrived.set()
        return len(messages)

    async def reserve(
        self, queues: Sequence[str], limit: int, *, lease_s: float, worker_id: str
    ) -> list[Reservation]:
        self._lease_s, self._slots = lease_s, max(1, limit)
        out: list[Reservation] = []

        async def take(lane: Lane) -> None:
            out.extend(
                await self.take([lane], limit - len(out), lease_s=lease_s, worker_id=worker_id)
            )

        # Lane by lane (queues in order, each highest priority level first): its
        # buffer, then, if nothing is reserved yet, one receive from it before the
        # next lane. Once a job is reserved no receive follows: its lease runs from
        # now and the worker renews it only once it holds it, so a slow receive
        # must not keep it here (the worker comes back for more at once).
        for lane in self.naming.lanes(queues):
            if len(out) >= limit:
                break
            await take(lane)
            # A full batch per request: SQS bills (and moto scans the queue) per
            # request; the rest waits in the buffer, its visibility renewed by extend.
            if not out and await self._receive(lane, BATCH, lease_s, 0):
                await take(lane)
        return out

    # -- the shared take's steps (see broker_buffer) ---------------------------------
    def arrival(self, lane: Lane, item: _Received, now: float) -> Arrival | None:
        if item.visible_at <= now:
            return None  # held too long unreserved: SQS shows it again by itself
        message = item.message
        attrs = _attrs_of(message)
        used = _used(message, attrs, fifo=self.is_fifo(lane[0]))
        return read_arrival(_job_id(message, attrs), lane[0], dict(attrs), used=used)

    async def send_on(self, lane: Lane, item: _Received, arrival: Arrival) -> None:
        await self._hop(lane, item.message)

    async def settle_unrun(self, lane: Lane, item: _Received, arrival: Arrival) -> None:
        url = await self._url(lane)
        await self.client.delete_message(QueueUrl=url, ReceiptHandle=item.message["ReceiptHandle"])
        await self.end_claims([(arrival.id, arrival.unique)])  # a superseded job's marker

    async def _hop(self, lane: Lane, message: dict[str, Any]) -> None:
        """An early message waits until due, its receive not counted as an attempt (nor
        any earlier one: they were earlier still).

        Standard queues send it again with the remaining delay, then delete it (sent
        first: a crash in between duplicates, never loses). FIFO queues have no
        per-message delay: a message received for the first time is hidden until due
        (``_used`` then discounts that one receive); received early again (a delay
        over 12 hours, or a hop cut short), it is sent again as a fresh message.
        """
        url = await self._url(lane)
        attrs = _attrs_of(message)
        remaining = (header_int(attrs, "gello-at") or 0) / 1000 - time.time()
        handle = message["ReceiptHandle"]
        if self.is_fifo(lane[0]) and _receives(message) == 1:
            await self.client.change_message_visibility(
                QueueUrl=url,
                ReceiptHandle=handle,
                VisibilityTimeout=min(MAX_VISIBILITY_S, max(1, math.ceil(remaining))),
            )
            return
        entry = self._entry(lane[0], message.get("Body", ""), dict(attrs), remaining, None)
        await self._send({lane: [entry]})
        await self.client.delete_message(QueueUrl=url, ReceiptHandle=handle)

    async def _hand_back(self, lanes: Sequence[Lane]) -> None:
        """Return received, never-reserved messages: sent again with their receive not
        counted as an attempt, then deleted."""
        for lane in lanes:
            buffer = self.buffers.get(lane)
            while buffer:
                message = buffer.popleft().message
                attrs = _attrs_of(message)
                keep: dict[str, object] = dict(attrs)
                keep.setdefault("gello-id", message["MessageId"])
                with contextlib.suppress(EnvelopeError):  # else sent as it came: failed when taken
                    used = _used(message, attrs, fifo=self.is_fifo(lane[0]))
                    keep["gello-attempts"] = (header_int(attrs, "gello-attempts") or 0) + used
                entry = self._entry(lane[0], message.get("Body", ""), keep, 0, None)
                await self._send({lane: [entry]})
                url = await self._url(lane)
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
        lanes = self.naming.lanes(queues)
        if any(self.buffers.get(lane) for lane in lanes):
            return
        wait_s = max(0, min(20, int(timeout_s)))
        for lane in lanes:
            task = self._polls.get(lane)
            if task is None or task.done():
                self._polls[lane] = asyncio.create_task(self._poll(lane, wait_s))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), timeout_s)

    async def _poll(self, lane: Lane, wait_s: int) -> None:
        # Long polling: one request waits up to wait_s for a message (low latency, cheap).
        with contextlib.suppress(*_ERRORS):
            await self._receive(lane, self._slots, self._lease_s, wait_s)

    # -- the held leases' steps (see broker_leases) ----------------------------------
    def _token(self, item: _Received) -> str:
        return str(item.message["ReceiptHandle"])

    def _body(self, item: _Received) -> str:
        return str(item.message.get("Body", ""))

    def _label(self, lane: Lane, item: _Received) -> tuple[str, str, dict[str, Any]]:
        attrs = _attrs_of(item.message)
        return _job_id(item.message, attrs), lane[0], dict(attrs)

    def _lease_until(self, item: _Received, expires: float) -> float:
        return min(item.visible_at, expires)

    def _settleable(self, held: Held[Lane, _Received], now: float) -> bool:
        return held.item.visible_at > now  # else another worker may hold the message now

    async def _ack_many(self, helds: Sequence[Held[Lane, _Received]]) -> None:
        by_lane: dict[Lane, list[Held[Lane, _Received]]] = {}
        for held in helds:
            by_lane.setdefault(held.lane, []).append(held)
        calls = []
        for lane, items in by_lane.items():
            url = await self._url(lane)
            for i in range(0, len(items), BATCH):
                entries = [
                    {"Id": str(n), "ReceiptHandle": h.token}
                    for n, h in enumerate(items[i : i + BATCH])
                ]
                calls.append(self.client.delete_message_batch(QueueUrl=url, Entries=entries))
        await asyncio.gather(*calls)

    async def _send_again(
        self, held: Held[Lane, _Received], envelope: Envelope, delay_s: float
    ) -> None:
        # Sent again as a new message (on FIFO too, whose delay is then a hop): the
        # envelope's attempts (one given back by ``ReleaseJob``) and reason are kept.
        url = await self._url(held.lane)
        attrs = job_headers(
            envelope,
            attempts=envelope.attempts,
            at=time.time() + delay_s,
            unique=held.unique,
            started=held.claim_released,
        )
        entry = self._entry(held.queue, envelope.encode().decode(), attrs, delay_s, envelope)
        await self._send({self._lane(envelope): [entry]})
        await self.client.delete_message(QueueUrl=url, ReceiptHandle=held.token)

    async def _renew(
        self, helds: Sequence[Held[Lane, _Received]], lease_s: float, now: float
    ) -> list[str]:
        lost: list[str] = []
        by_lane: dict[Lane, list[Held[Lane, _Received]]] = {}
        for held in helds:
            if held.item.visible_at <= now:
                lost.append(held.id)
            else:
                by_lane.setdefault(held.lane, []).append(held)
        seconds = visibility_s(lease_s)
        for lane, buffer in self.buffers.items():
            live = [item for item in buffer if item.visible_at > now]
            if live:
                url = await self._url(lane) or ""
                refused = await self._visibility(
                    url, [i.message["ReceiptHandle"] for i in live], seconds
                )
                for item in live:
                    if item.message["ReceiptHandle"] not in refused:
                        item.visible_at = now + seconds
        for lane, items in by_lane.items():
            refused = await self._visibility(
                await self._url(lane) or "", [h.token for h in items], seconds
            )
            for held in items:
                if held.token in refused:
                    self._held.pop(held.token, None)
                    lost.append(held.id)
                else:
                    held.expires = now + lease_s
                    held.item.visible_at = now + seconds
        return lost

    async def _requeue(self, held: Held[Lane, _Received]) -> None:
        await self._visibility(await self._url(held.lane) or "", [held.token], 0)

    async def rescue(self) -> RescueResult:
        # SQS shows a message again when its visibility lapses; here only this process's
        # leases that lapsed unrenewed (a stalled loop) are settled.
        result = await self._rescue_held()
        await self.sweep_markers()
        return result

    # -- inspecting and managing -----------------------------------------------------
    async def _discover(self) -> set[Lane] | None:
        """Lanes with an SQS queue under this prefix (``None``: SQS would not list them)."""
        lanes: set[Lane] = set()
        try:
            found = await self.client.list_queues(QueueNamePrefix=self.prefix, MaxResults=1000)
        except _ERRORS:
            return None
        for url in found.get("QueueUrls") or []:
            lane = self.naming.parse(url.rsplit("/", 1)[-1])
            if lane is not None:
                lanes.add(lane)
                self._urls.setdefault(lane, url)
        return lanes

    async def counts(self) -> dict[str, QueueCounts]:
        stored = await self.store_counts()
        existing = await self._discover()
        names = self._known | await self.known_queues(stored) | {q for q, _ in existing or ()}
        found: dict[str, QueueCounts] = {}
        for queue in sorted(names):
            c = QueueCounts()
            for lane in self.naming.lanes([queue]):
                if existing is None or lane in existing or lane in self._urls:
                    c = _plus(c, await self._lane_counts(lane))
            found[queue] = c
        return self.with_store(found, stored)

    async def _lane_counts(self, lane: Lane) -> QueueCounts:
        url = await self._url(lane, create=False)
        if url is None:
            return QueueCounts()
        got = await self.client.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesDelayed",
                "ApproximateNumberOfMessagesNotVisible",
            ],
        )
        a = got.get("Attributes") or {}
        buffered = len(self.buffers.get(lane) or ())
        return QueueCounts(
            pending=int(a.get("ApproximateNumberOfMessages", 0)) + buffered,
            scheduled=int(a.get("ApproximateNumberOfMessagesDelayed", 0)),
            reserved=max(int(a.get("ApproximateNumberOfMessagesNotVisible", 0)) - buffered, 0),
        )

    async def queues(self) -> list[str]:
        return list(await self.counts())

    async def clear(self, queue: str) -> int:
        raise self.unsupported(
            Capability.CLEAR, "clear a queue (PurgeQueue would delete running jobs too)"
        )

    async def republish(self, envelopes: Sequence[tuple[Envelope | None, FailedJob]]) -> None:
        sends: dict[Lane, list[dict[str, Any]]] = {}
        for env, failed in envelopes:
            if env is None:
                attrs: dict[str, object] = {"gello-id": failed.id, "gello-attempts": 0}
                sends.setdefault((failed.queue, 0), []).append(
                    self._entry(failed.queue, failed.body, attrs, 0, None)
                )
                continue
            attrs = job_headers(env, attempts=0)
            sends.setdefault(self._lane(env), []).append(
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
