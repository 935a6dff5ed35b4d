"""Settling messages on SQS: the broker's steps of the shared held leases
(``broker_leases``), and ``rescue``.

A reservation's token is the message's receipt handle and its lease the visibility
timeout: the worker's heartbeat extends it (``ChangeMessageVisibilityBatch``, which
also keeps buffered messages hidden), and a message whose visibility lapsed is never
settled locally (SQS may accept a stale handle; the job may be running elsewhere). A
dead worker's messages reappear by themselves when it lapses, so ``rescue`` settles
only this process's leases that lapsed unrenewed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from gello_queue.core.envelope import Envelope
from gello_queue.drivers.broker_buffer import job_headers
from gello_queue.drivers.broker_leases import Held
from gello_queue.drivers.sqs.connection import BATCH
from gello_queue.drivers.sqs.messages import Received, attrs_of, job_id
from gello_queue.drivers.sqs.names import Lane
from gello_queue.drivers.sqs.receive import Receiving, visibility_s
from gello_queue.ports import RescueResult


class Settling(Receiving):
    """Delete, send again, renew and hand back held messages."""

    def _token(self, item: Received) -> str:
        return str(item.message["ReceiptHandle"])

    def _body(self, item: Received) -> str:
        return str(item.message.get("Body", ""))

    def _label(self, lane: Lane, item: Received) -> tuple[str, str, dict[str, Any]]:
        attrs = attrs_of(item.message)
        return job_id(item.message, attrs), lane[0], dict(attrs)

    def _lease_until(self, item: Received, expires: float) -> float:
        return min(item.visible_at, expires)

    def _settleable(self, held: Held[Lane, Received], now: float) -> bool:
        return held.item.visible_at > now  # else another worker may hold the message now

    async def _ack_many(self, helds: Sequence[Held[Lane, Received]]) -> None:
        by_lane: dict[Lane, list[Held[Lane, Received]]] = {}
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
        self, held: Held[Lane, Received], envelope: Envelope, delay_s: float
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
        self, helds: Sequence[Held[Lane, Received]], lease_s: float, now: float
    ) -> list[str]:
        lost: list[str] = []
        by_lane: dict[Lane, list[Held[Lane, Received]]] = {}
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
            # The local lease runs from when SQS confirmed the renewal: a renewal served
            # late (a busy endpoint) must not leave it lapsed at once, or this process's
            # own rescue hands back a job it still runs. SQS's visibility is counted from
            # the request, the conservative end, for settling.
            renewed = time.time()
            for held in items:
                if held.token in refused:
                    self._held.pop(held.token, None)
                    lost.append(held.id)
                else:
                    held.expires = renewed + lease_s
                    held.item.visible_at = now + seconds
        return lost

    async def _requeue(self, held: Held[Lane, Received]) -> None:
        await self._visibility(await self._url(held.lane) or "", [held.token], 0)

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

    async def rescue(self) -> RescueResult:
        # SQS shows a message again when its visibility lapses; here only this process's
        # leases that lapsed unrenewed (a stalled loop) are settled.
        result = await self._rescue_held()
        await self.sweep_markers()
        return result
