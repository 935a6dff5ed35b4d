"""Receiving from SQS: buffers per lane, ``reserve`` and ``wait``; early messages hop.

A reservation receives with ``VisibilityTimeout`` = twice the lease (``visibility_s``),
a full batch per request, and keeps what it does not take in the lane's buffer for the
next one. ``wait`` long-polls (``WaitTimeSeconds`` up to 20) in a task per lane. The
shared ``take`` (``broker_buffer``) reserves from the buffers in the worker's order.

A message received still early hops until due, never early (``_hop``); one received but
never reserved is handed back with that receive not counted as an attempt.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

from gello_queue.core.errors import EnvelopeError
from gello_queue.drivers.broker_buffer import Arrival, header_int, read_arrival
from gello_queue.drivers.broker_leases import BrokerLeases
from gello_queue.drivers.sqs.connection import BATCH, ERRORS
from gello_queue.drivers.sqs.messages import Received, attrs_of, job_id, receives, used_attempts
from gello_queue.drivers.sqs.names import Lane
from gello_queue.drivers.sqs.send import Sending
from gello_queue.ports import Reservation

MAX_VISIBILITY_S = 43200
"""SQS's longest visibility timeout (12 hours)."""
_REPLY_SLACK_S = 1.0
"""How long before a long poll's reply its messages may have been handed out."""


def visibility_s(lease_s: float) -> int:
    """The visibility timeout for a lease: twice it, so a heartbeat slowed by the API
    never lets a running job reappear (a dead worker's jobs return within two leases)."""
    return min(MAX_VISIBILITY_S, max(1, math.ceil(2 * lease_s)))


class Receiving(Sending, BrokerLeases[Lane, Received]):
    """Receives, buffers and the reserving path; see the module docstring."""

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
            buffer.append(Received(message, expires))
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
        with contextlib.suppress(*ERRORS):
            await self._receive(lane, self._slots, self._lease_s, wait_s)

    # -- the shared take's steps (see broker_buffer) ---------------------------------
    def arrival(self, lane: Lane, item: Received, now: float) -> Arrival | None:
        if item.visible_at <= now:
            return None  # held too long unreserved: SQS shows it again by itself
        message = item.message
        attrs = attrs_of(message)
        used = used_attempts(message, attrs, fifo=self.is_fifo(lane[0]))
        return read_arrival(job_id(message, attrs), lane[0], dict(attrs), used=used)

    async def send_on(self, lane: Lane, item: Received, arrival: Arrival) -> None:
        await self._hop(lane, item.message)

    async def settle_unrun(self, lane: Lane, item: Received, arrival: Arrival) -> None:
        url = await self._url(lane)
        await self.client.delete_message(QueueUrl=url, ReceiptHandle=item.message["ReceiptHandle"])
        await self.end_claims([(arrival.id, arrival.unique)])  # a superseded job's marker

    # -- sending received messages on ------------------------------------------------
    async def _hop(self, lane: Lane, message: dict[str, Any]) -> None:
        """An early message waits until due, its receive not counted as an attempt (nor
        any earlier one: they were earlier still).

        Standard queues send it again with the remaining delay, then delete it (sent
        first: a crash in between duplicates, never loses). FIFO queues have no
        per-message delay: a message received for the first time is hidden until due
        (``used_attempts`` then discounts that one receive); received early again (a
        delay over 12 hours, or a hop cut short), it is sent again as a fresh message.
        """
        url = await self._url(lane)
        attrs = attrs_of(message)
        remaining = (header_int(attrs, "gello-at") or 0) / 1000 - time.time()
        handle = message["ReceiptHandle"]
        if self.is_fifo(lane[0]) and receives(message) == 1:
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
                attrs = attrs_of(message)
                keep: dict[str, object] = dict(attrs)
                keep.setdefault("gello-id", message["MessageId"])
                with contextlib.suppress(EnvelopeError):  # else sent as it came: failed when taken
                    used = used_attempts(message, attrs, fifo=self.is_fifo(lane[0]))
                    keep["gello-attempts"] = (header_int(attrs, "gello-attempts") or 0) + used
                entry = self._entry(lane[0], message.get("Body", ""), keep, 0, None)
                await self._send({lane: [entry]})
                url = await self._url(lane)
                await self.client.delete_message(
                    QueueUrl=url, ReceiptHandle=message["ReceiptHandle"]
                )
